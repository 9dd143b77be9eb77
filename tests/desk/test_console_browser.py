"""The desk console in a real browser, against the real Rasa: a whole escalation, both ways.

The bot runs in the test process (so the Telegram fake can be wired in) and talks to the
session stack's Rasa and action server; the user is the web chat page or the Telegram fake,
the agent is the console page, both in Debian's chromium.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.desk.service import CLAIMED_TEXT, CLOSED_TEXT
from bot.launcher import Stack
from tests.auxil.fake_telegram import command_update, message_update
from tests.desk.harness import TOKENS, DeskHarness, desk_bot

pytestmark = [pytest.mark.stack, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]
WAIT_MS = 30_000
TG_CHAT = 777


@pytest.fixture
async def bot(stack: Stack, redis_url: str) -> AsyncIterator[DeskHarness]:
    async with desk_bot(redis_url, rasa_url=stack.rasa_url) as harness:
        yield harness


def base_url(bot: DeskHarness) -> str:
    return str(bot.client.make_url("")).rstrip("/")


async def console(browser: Browser, bot: DeskHarness, agent: str = "alice") -> Page:
    page = await browser.new_page(
        viewport={"width": 1280, "height": 820}, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    await page.goto(base_url(bot) + "/desk")
    await page.get_by_test_id("token").fill(TOKENS[agent])
    await page.get_by_test_id("login").click()
    await expect(page.get_by_test_id("agent-name")).to_contain_text(agent)
    return page


async def ask(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")


async def test_an_agent_handles_a_web_chat_escalation_in_the_console(
    bot: DeskHarness, browser: Browser
) -> None:
    agent = await console(browser, bot)
    user = await browser.new_page(locale="zh-CN")
    await user.goto(base_url(bot) + "/")

    await ask(user, "嘉康园一期的入驻率是多少？")
    await expect(user.locator(".msg.bot .bubble").last).to_contain_text("83.03%", timeout=WAIT_MS)
    await ask(user, "我要人工")
    await expect(user.locator(".msg.bot .bubble").last).to_contain_text(
        "排在第 1 位", timeout=WAIT_MS
    )

    # The ticket appears live, without reloading the console.
    ticket = agent.locator(".ticket", has_text="我要人工")
    await expect(ticket).to_be_visible()
    await ticket.click()
    # The transcript shows the bot's answer with the documents it cited.
    thread = agent.get_by_test_id("thread")
    await expect(thread).to_contain_text("83.03%")
    await expect(thread.locator(".sources").first).to_contain_text("引用文档：")
    await agent.get_by_test_id("claim").click()
    await expect(user.locator(".msg.agent .bubble").last).to_contain_text(CLAIMED_TEXT)

    await agent.get_by_test_id("reply").fill("您好，我是客服小王，请问有什么可以帮您？")
    await agent.get_by_test_id("send").click()
    await expect(user.locator(".msg.agent .bubble").last).to_contain_text("客服小王")
    await expect(agent.locator("[data-delivery=delivered]").last).to_be_visible()

    await ask(user, "我想了解嘉定的人才公寓怎么申请")
    await expect(agent.get_by_test_id("thread")).to_contain_text("我想了解嘉定的人才公寓怎么申请")
    await agent.screenshot(path=str(ROOT / "docs" / "desk.png"))

    await agent.get_by_test_id("close").click()
    await expect(user.locator(".msg.agent .bubble").last).to_contain_text("机器人助手继续")
    await ask(user, "南湖区有哪些人才政策？")
    await expect(user.locator(".msg.bot .bubble").last).to_contain_text("来源", timeout=WAIT_MS)


async def test_an_agent_answers_a_telegram_user_in_telegram_from_the_console(
    bot: DeskHarness, browser: Browser
) -> None:
    agent = await console(browser, bot)
    await bot.telegram_update(command_update(TG_CHAT, "/human"))
    await bot.tg.wait_for("sendMessage", 2, within_s=30)
    assert "排在第 1 位" in bot.tg.texts()[-1]

    ticket = agent.locator(".ticket", has_text="/request_human")
    await expect(ticket).to_be_visible()
    await ticket.click()
    await agent.get_by_test_id("claim").click()
    await agent.get_by_test_id("reply").fill("您好，这里是人工客服")
    await agent.get_by_test_id("send").click()
    await bot.tg.wait_for("sendMessage", 4)
    assert bot.tg.texts()[-2:] == [CLAIMED_TEXT, "您好，这里是人工客服"]

    await bot.telegram_update(message_update(TG_CHAT, "我想问南湖区的落户政策"))
    await expect(agent.get_by_test_id("thread")).to_contain_text("我想问南湖区的落户政策")

    await agent.get_by_test_id("close").click()
    await bot.tg.wait_for("sendMessage", 5)
    assert bot.tg.texts()[-1] == CLOSED_TEXT
    await bot.telegram_update(message_update(TG_CHAT, "嘉康园一期的入驻率是多少？"))
    await bot.tg.wait_for("sendMessage", 6, within_s=30)
    assert "83.03%" in bot.tg.texts()[-1]


async def test_a_second_agent_cannot_close_the_first_agents_ticket_in_the_console(
    bot: DeskHarness, browser: Browser
) -> None:
    await bot.chat("web-x", "/request_human")
    ticket_id = (await bot.only_ticket())["id"]
    await bot.api("POST", f"/desk/api/tickets/{ticket_id}/claim", agent="alice")
    page = await console(browser, bot, "bob")
    await page.locator(".ticket", has_text=ticket_id).click()
    await expect(page.get_by_test_id("thread")).to_be_visible()
    await expect(page.get_by_test_id("close")).to_be_hidden()
    await expect(page.get_by_test_id("reply")).to_be_hidden()
