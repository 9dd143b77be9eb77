"""Remove page furniture and boilerplate from seed documents, line by line.

Every rule is a small named predicate or substitution so it can be unit-tested;
:func:`clean_document` applies them and returns the content lines that remain,
already repaired and normalised, each still tracing back to its raw text.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from bot.facts.models import Document
from bot.facts.normalize import normalize
from bot.facts.repair import RepairTable, repair_text
from bot.facts.spans import Tracked


@dataclass(frozen=True)
class Line:
    """A content line that survived cleaning."""

    number: int  # 1-based line number in the seed file
    text: Tracked


# Lines that open a boilerplate tail: everything from here to the end is dropped.
_TAIL = re.compile(
    r"^(【?知识产权(声明|、免责声明)|【?免责声明】?$|【?媒体合作】?$|版权声明|政策留言板|热门跟贴"
    r"|更多相关资讯请关注|继续了解$)"
)
_PAGE_COUNTER = re.compile(r"^\d+\s*/\s*\d+$")
_IMAGE_PLACEHOLDER = re.compile(r"^[\w\-. ]+\.(jpe?g|png|gif|webp|bmp)$", re.IGNORECASE)
_WIDGET = re.compile(
    r"^(展开|收起|全文|阅读全文|查看更多|继续了解|返回顶部|分享|打印|关闭|扫一扫.*|.*在手机打开.*|热门跟贴)$"
)
_VIEW_COUNT = re.compile(r"(浏览量|阅读量|阅读数|点击量|浏览次数)[:：]?\s*\d+")
_DATELINE = re.compile(
    r"^\S{0,16}?\d{4}[-/年]\d{1,2}[-/月]\d{1,2}日?\s*\d{1,2}:\d{2}(:\d{2})?\S{0,16}$"
)
_CREDIT = re.compile(
    r"^(撰稿|撰文|文字|摄像|摄影|编辑|责任编辑|责编|校对|审核|审校|记者|通讯员|作者|来源|出品|制作)\s*[:：]"
)
_SOCIAL = re.compile(r"点个?.{0,2}赞|在看|点赞|转发|分享给|关注我们|长按识别|↓{2,}")
_CONTACT = re.compile(
    r"^(联系人|联系电话|联系方式|电话|手机|邮箱|电子邮箱|e-?mail|地址|传真|邮编|QQ|微信)\s*[:：]|联系方式[:：]?$",
    re.IGNORECASE,
)
_EDITOR_LABEL = re.compile(r"^(编者按|编者的话|编前语|导读)\s*[:：]?\s*")
_CAPTION = re.compile(r"(视觉中国|资料图|图片来源|供图|图源[:：]|新华社发|IC photo)", re.IGNORECASE)
_GOV_HEADER = re.compile(
    r"^(索引号|主题分类|发布机构|发文机关|发文日期|成文日期|发布日期|名称|标题|文号|发文字号"
    r"|公开类型|公开属性|公开方式|公开期限|公开范围|有效性|生效日期)[:：]"
)
_LETTERHEAD = re.compile(r"^\S{2,30}(人民政府|委员会|办公室|办公厅|管委会)文件$")
_ATTACHMENT = re.compile(r"^附件\s*\d*[:：]")
_BARE_DATE = re.compile(r"^\d{4}年\d{1,2}月\d{1,2}日$")
_NOTICE = re.compile(r"现印发给你们|现予印发|请认真(按照|贯彻)?执行")
# ASCII-only classes: \w would swallow the Chinese text around a link.
_URL = re.compile(r"(https?://|www\.)[A-Za-z0-9\-._~:/?#@!$&*+;=%]+", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")
_PHONE = re.compile(r"(?<!\d)(0\d{2,3}[-\s]?\d{7,8}|1[3-9]\d{9})(?!\d)")
_NON_TEXT = re.compile(r"[\W_]+")
_TITLE_PART = re.compile(r"《([^《》]+)》")


def is_tail_marker(line: str) -> bool:
    """A heading that starts a copyright/disclaimer/comments/link tail."""
    return bool(_TAIL.match(line))


def is_furniture(line: str) -> bool:
    """Page furniture that is never content (counters, widgets, credits, contacts, captions)."""
    compact = re.sub(r"\s+", "", line)
    return bool(
        _PAGE_COUNTER.match(compact)
        or _IMAGE_PLACEHOLDER.match(line)
        or _WIDGET.match(compact)
        or _VIEW_COUNT.search(line)
        or _DATELINE.match(line)
        or _CREDIT.match(compact)
        or (_SOCIAL.search(line) and len(compact) < 40)
        or _CONTACT.search(compact)
        or _EDITOR_LABEL.fullmatch(compact)
        or (_CAPTION.search(line) and len(compact) < 60)
        or _URL.fullmatch(compact)
    )


def is_document_header(line: str) -> bool:
    """Government-document header metadata, letterhead, addressee, attachment or signature lines."""
    compact = re.sub(r"\s+", "", line)
    if _GOV_HEADER.match(compact) or _LETTERHEAD.match(compact) or _ATTACHMENT.match(compact):
        return True
    if _BARE_DATE.match(compact) or _NOTICE.search(compact):
        return True
    # Addressee line: "各镇人民政府，区政府各委、办、局……：".
    return compact.endswith(("：", ":")) and "。" not in compact and compact.startswith("各")


def strip_inline_furniture(text: Tracked) -> Tracked:
    """Remove URLs, e-mail addresses, phone numbers and a leading 编者按 label inside a line."""
    text = text.sub(_URL, "")
    text = text.sub(_EMAIL, "")
    text = text.sub(_PHONE, "")
    return text.sub(_EDITOR_LABEL, "")


def _bare(text: str) -> str:
    return _NON_TEXT.sub("", text)


def is_title_repeat(line: str, doc: Document, *, front_matter: bool) -> bool:
    """The document title (or the 《》 title it quotes) repeated as a line.

    In the front matter, before the first full sentence, fragments of a title
    broken over several lines count too.
    """
    bare, title = _bare(line), _bare(doc.title)
    if len(bare) < 4 or "。" in line:
        return False
    if bare == title or any(bare == _bare(part) for part in _TITLE_PART.findall(doc.title)):
        return True
    return front_matter and bare in title


def is_publisher_line(line: str, doc: Document) -> bool:
    """A line that only names the publisher or reposting site (a signature or site footer)."""
    bare = _bare(line)
    publisher = _bare(re.sub(r"[（(].*?[）)]", "", doc.publisher))
    return bool(bare) and bare == publisher


def _ends_sentence(text: str) -> bool:
    return "。" in text or text.endswith(("！", "？", "；", "…"))


def drop_captions(lines: list[Line]) -> list[Line]:
    """Drop short unpunctuated lines that repeat a name from the neighbouring paragraph.

    News pages put a photo caption ("上海智能传感器产业园") next to the paragraph
    that mentions it; a real section heading does not occur verbatim in its neighbours.
    """
    kept: list[Line] = []
    for i, line in enumerate(lines):
        text = line.text.text
        neighbours = [lines[j].text.text for j in (i - 1, i + 1) if 0 <= j < len(lines)]
        is_caption = (
            len(text) <= 30
            and not _ends_sentence(text)
            and not re.match(r"^[（(]?[一二三四五六七八九十\d]+[、.．)）]", text)
            and any(len(n) > len(text) and text in n for n in neighbours)
        )
        if not is_caption:
            kept.append(line)
    return kept


def clean_document(
    raw: str,
    doc: Document,
    *,
    repairs: RepairTable | None = None,
    fired: Counter[str] | None = None,
) -> list[Line]:
    """Repair, normalise and filter a seed document; return its content lines."""
    traditional = doc.language.lower() in {"zh-hant", "zh-tw", "zh-hk"}
    lines: list[Line] = []
    front_matter = True
    for number, raw_line in enumerate(raw.split("\n"), start=1):
        if not raw_line.strip():
            continue
        text = repair_text(
            Tracked.of(raw_line), traditional=traditional, table=repairs, fired=fired
        )
        text = normalize(strip_inline_furniture(text))
        line = text.text
        if not line:
            continue
        if is_tail_marker(line):
            break
        if (
            is_furniture(line)
            or is_document_header(line)
            or is_publisher_line(line, doc)
            or is_title_repeat(line, doc, front_matter=front_matter)
        ):
            continue
        if "。" in line:
            front_matter = False
        lines.append(Line(number, text))
    return drop_captions(lines)
