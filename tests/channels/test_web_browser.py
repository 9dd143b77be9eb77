"""The web chat page in a real browser (Debian's chromium driven by Playwright)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from bot.launcher import Stack

pytestmark = [pytest.mark.stack, pytest.mark.browser]
ROOT = Path(__file__).resolve().parents[2]


async def ask(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.click("#send")


async def test_question_shows_the_answer_and_its_citation(stack: Stack, browser: Browser) -> None:
    page = await browser.new_page(viewport={"width": 900, "height": 900}, locale="zh-CN")
    await page.goto(stack.bot_url + "/")
    await ask(page, "你好")
    greeting = page.locator(".msg.bot .bubble").first
    await expect(greeting).to_contain_text("机器人", timeout=30_000)
    await expect(page.locator(".msg.bot .buttons button").first).to_have_text("人才")

    await ask(page, "嘉康园一期的入驻率是多少？")
    answer = page.locator(".msg.bot .bubble").nth(1)
    await expect(answer).to_contain_text("83.03%", timeout=30_000)
    citation = answer.locator(".source")
    await expect(citation).to_contain_text("来源：《")
    await expect(citation).to_contain_text("上海智能传感器产业园")
    await page.screenshot(path=str(ROOT / "docs" / "webchat.png"), full_page=True)


async def test_topic_button_and_human_button_work(stack: Stack, browser: Browser) -> None:
    page = await browser.new_page(locale="zh-CN")
    await page.goto(stack.bot_url + "/")
    await ask(page, "你好")
    await page.locator(".msg.bot .buttons button", has_text="资金").first.click()
    await expect(page.locator(".msg.bot .bubble").nth(1)).to_contain_text(
        "资金与融资", timeout=30_000
    )
    await page.click("#human")
    await expect(page.locator(".msg.bot .bubble").nth(2)).to_contain_text(
        "人工客服", timeout=30_000
    )


async def test_bad_input_is_refused_politely_in_the_page(stack: Stack, browser: Browser) -> None:
    page = await browser.new_page(locale="zh-CN")
    await page.goto(stack.bot_url + "/")
    # The input's maxlength stops typing; send an over-long text the way a script would.
    await page.evaluate("document.getElementById('text').removeAttribute('maxlength')")
    await ask(page, "长" * 2100)
    await expect(page.locator(".msg.error .bubble")).to_contain_text("发送失败", timeout=10_000)
