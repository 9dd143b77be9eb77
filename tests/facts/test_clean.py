"""Page furniture and boilerplate never reach a fact; punctuation and spacing are normalised."""

from __future__ import annotations

import re

import pytest

from bot.facts import FactStore
from bot.facts.clean import (
    Line,
    drop_captions,
    is_document_header,
    is_furniture,
    is_publisher_line,
    is_tail_marker,
    is_title_repeat,
    strip_inline_furniture,
)
from bot.facts.models import Document
from bot.facts.normalize import normalize_str
from bot.facts.spans import Tracked

DOC = Document(
    id="demo",
    title="特色产业园区发展如何？上海嘉定：去年总营收超5000亿元",
    publisher="上海园区招商网（转载）",
    date="2023",
    region="嘉定区",
    language="zh-Hans",
    file="demo.txt",
)

# Strings that are page furniture in the seeds; none may appear in any fact.
FURNITURE_MARKERS = [
    "知识产权声明",
    "免责声明",
    "媒体合作",
    "联系人",
    "联系电话",
    "邮箱",
    "邮 箱",
    "@",
    "http",
    "www.",
    "撰稿",
    "摄像",
    "编辑：",
    "编辑:",
    "点个",
    "在看",
    "热门跟贴",
    "浏览量",
    ".jpg",
    "展开",
    "政策留言板",
    "扫一扫",
    "视觉中国",
    "资料图",
    "澎湃新闻",
    "编者按",
    "索引号",
    "索 引 号",
    "文号",
    "发布机构",
    "公开属性",
    "主题分类",
    "上海园区招商网",
    "东方网",
    "1/0",
    "现印发给你们",
    "各镇人民政府",
]
_PHONE = re.compile(r"\d{3,4}-\d{7,8}")


@pytest.mark.parametrize(
    "line",
    [
        "知识产权、免责声明以及媒体合作联系",
        "【知识产权声明】",
        "知识产权声明",
        "【免责声明】",
        "政策留言板",
        "热门跟贴",
        "更多相关资讯请关注：上海嘉定经济开发区：http://sh.taxs.vip/park/view.html?id=14719",
    ],
)
def test_tail_markers_start_the_boilerplate_tail(line: str) -> None:
    assert is_tail_marker(line)


@pytest.mark.parametrize(
    "line",
    [
        "1/0",
        "1.jpg",
        "展开",
        "2023年08月21日 15:35:14科创街区浏览量:1次",
        "澎湃新闻2023-08-22 13:00:00",
        "撰稿:奚柔",
        "摄像：赵晨",
        "编辑:袁悦",
        "喜欢就点个“赞”和“在看”吧~↓↓↓↓",
        "联系人:杨老师",
        "联系电话:021-22899781",
        "邮 箱:wenzhuxie@126.com",
        "地 址:北京西城区珠市口西大街120号",
        "航拍的嘉定区景象。视觉中国 资料图",
        "编者按",
        "扫一扫在手机打开当前页",
        "http://sh.taxs.vip/park/view.html?id=14719",
    ],
)
def test_furniture_lines_are_recognised(line: str) -> None:
    assert is_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "作为上海市首批品牌园区，嘉定工业区是嘉定创新转型产业集聚的主战场。",
        "“平台+基地+联盟”的保姆式服务",
        "在载体建设方面，核心区嘉康园一期已签约入驻项目45个，入驻率83.03%。",
        "8月22日上午，上海市政府新闻办举行新闻发布会。",
    ],
)
def test_content_lines_are_not_furniture(line: str) -> None:
    assert not is_furniture(line)
    assert not is_document_header(line)
    assert not is_tail_marker(line)


@pytest.mark.parametrize(
    "line",
    [
        "索 引 号: WA0310001-2024-001 主题分类: 区政府",
        "发布机构: 区政府 发文日期: 2024-11-08",
        "名 称: 上海市嘉定区人民政府关于印发《行动方案》的通知",
        "文 号: 嘉府发〔2024〕13号 公开类型: 主动公开",
        "公开属性: 全部公开 公开期限: 长期公开",
        "上海市嘉定区人民政府文件",
        "各镇人民政府，区政府各委、办、局、街道办事处，嘉定工业区、菊园新区管委会，各有关单位：",
        "附件：《张江高新区嘉定园改革创新发展行动方案（2024-2026年）》",
        "2024年11月8日",
        "《张江高新区嘉定园改革创新发展行动方案》已经区政府研究同意，现印发给你们，请认真按照执行。",
    ],
)
def test_government_header_metadata_is_dropped(line: str) -> None:
    assert is_document_header(line)


def test_inline_urls_emails_phones_and_editor_label_are_stripped() -> None:
    text = Tracked.of("编者按：详见http://a.example.cn/x?id=1或致电021-22899781、邮件a@b.cn。")
    assert strip_inline_furniture(text).text == "详见或致电、邮件。"


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("营商环境没有最好,只有更好,优化", "营商环境没有最好，只有更好，优化"),
        ("高举“科技牌” ,打造“示范核”", "高举“科技牌”，打造“示范核”"),
        ("推动未来技术 “知识溢出”,策源", "推动未来技术“知识溢出”，策源"),
        ("特色产业园区发展如何?上海嘉定:去年", "特色产业园区发展如何？上海嘉定：去年"),
        ("行动方案(2024-2026年)》", "行动方案（2024-2026年）》"),
        ("(一)实施园区", "（一）实施园区"),
        ("扩大宣传力度,,提高", "扩大宣传力度，提高"),
        ("8英寸MEMS工艺", "8英寸MEMS工艺"),
        ("SENSOR CHINA、慕尼黑", "SENSOR CHINA、慕尼黑"),
        ("澎湃新闻2023-08-22 13:00:00", "澎湃新闻2023-08-22 13:00:00"),
        ("ＰＣＴ专利　申请量", "PCT专利申请量"),
        ("入驻率83.03% ,为", "入驻率83.03%，为"),
    ],
)
def test_punctuation_and_whitespace_are_normalised(raw: str, clean: str) -> None:
    assert normalize_str(raw) == clean


def test_title_repeats_are_dropped_but_headings_kept() -> None:
    assert is_title_repeat(
        "特色产业园区发展如何?上海嘉定:去年总营收超5000亿元", DOC, front_matter=False
    )
    assert is_title_repeat("上海嘉定：去年总营收超5000亿元", DOC, front_matter=True)
    assert not is_title_repeat("上海嘉定：去年总营收超5000亿元", DOC, front_matter=False)
    assert not is_title_repeat("“四链”融合推动发展提速", DOC, front_matter=True)


def test_site_footer_naming_the_publisher_is_dropped() -> None:
    assert is_publisher_line("上海园区招商网", DOC)
    assert not is_publisher_line("上海园区招商网发布了新政策。", DOC)


def test_photo_caption_repeating_a_neighbouring_name_is_dropped() -> None:
    lines = [
        Line(1, Tracked.of("以上海汽车芯片工程中心有限公司检测实验室为例，每个月都有测试。")),
        Line(2, Tracked.of("上海汽车芯片工程中心有限公司检测实验室")),
        Line(3, Tracked.of("汇聚“五大要素”资源，助力企业快速成长")),
        Line(4, Tracked.of("冬日里的园区，对接会正在进行中。")),
    ]
    kept = [line.number for line in drop_captions(lines)]
    assert kept == [1, 3, 4]


def test_no_fact_contains_page_furniture(store: FactStore) -> None:
    for fact in store.facts:
        for marker in FURNITURE_MARKERS:
            assert marker not in fact.text, (fact.id, marker)
        assert not _PHONE.search(fact.text), fact.id


def test_no_fact_uses_ascii_punctuation_inside_chinese(store: FactStore) -> None:
    for fact in store.facts:
        assert not re.search(r"[\u4e00-\u9fff][,?!;:()]|[,?!;:()][\u4e00-\u9fff]", fact.text), (
            fact.id
        )
        assert not re.search(r"[\u4e00-\u9fff“”] +[\u4e00-\u9fff“”，]", fact.text), fact.id


def test_disclaimer_tail_of_featured_parks_article_is_gone(store: FactStore) -> None:
    texts = [f.text for f in store.facts if f.doc_id == "jiading-featured-parks-2023"]
    assert texts[-1].startswith("总之")
    assert not any("本司" in t or "著作权" in t for t in texts)
