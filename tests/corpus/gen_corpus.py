#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Generate a synthetic eventmd archive and the rows the extension must show.

Usage:
    /usr/bin/python3 tests/corpus/gen_corpus.py --out DIR --files N [--seed S]

Writes
    DIR/archive/      the archive root: N event files laid out like the real archive
                      (ROOT/news/YYYY/MM/DD/<slug>.md, padded and unpadded folders, older
                      versions, README.md / index.md day pages, a Chinese-mirror share, a
                      few drafts, problem files, and pages and other files that must
                      produce no rows);
    DIR/expected.sql  BEGIN; ... COMMIT; creating and filling exp_events, exp_sources,
                      exp_related and exp_changes with the rows the four eventmd tables must
                      show for that archive (SPEC.md 1.1 and the 1.1 rules file).

The expected rows come from the generator's own model of each event (the plain text it
chose, the URLs it built, the timestamps it set, the Changes lists and day pages it
decided), never from parsing the written files.  The markdown writer escapes the model
text so that a CommonMark parser (cmark, no smart punctuation) gives back exactly that
text.  The same --seed (default 1) and --files give byte-identical output.  Python 3
standard library only.

Decisions the extension has to agree with, beyond SPEC.md, are listed in MODEL NOTES below.
"""

# MODEL NOTES (what the expected rows assume)
#  * Event files: newer ones ("newfmt") open with a `Formats: [HTML](slug.html) [JSON](…)
#    [XML](…)` paragraph (ignored), then the date heading `### [date](href)`, then, mostly,
#    a topic heading (`##### topic`, sometimes H4/H6), then the H1.  Older ones start with
#    the date heading and have no topic heading.  The date heading is always the first
#    heading; its text is spelled like its day folder (`2018-03-2`), zero-padded, or fully
#    unpadded (`2018-3-2`); the row shows YYYY-MM-DD.  day_index is its href (normalised,
#    see the mirror below).  Drafts (ROOT/drafts/<slug>.md) take their date from it.
#  * topic: the file's own topic heading, else the topic its folder's day page gives it
#    (the last H5 above its H3 link: an H5 is optional per link and carries on to the
#    following links until the next H5 or the final H2), else NULL.  Topic texts are
#    plain (EVENT_TOPICS / ZH_TOPICS), never date-shaped or a section name.  A day page
#    may give a file that has its own topic a different one (the file's own wins).  The
#    "no title" files follow the same rule (no H1: their headings before the first section).
#  * Sections: Source, Related, Changes; newer files mostly put Changes before Related.
#    Any of them may be missing (Related with no items may keep its heading).
#  * Summary: only plain paragraphs, 0-3, joined by "\n\n".  Soft line breaks inside a
#    paragraph become one space.  Inline emphasis / strong / code spans wrap single ASCII
#    words only and vanish from the plain text.  No hard breaks, no inline HTML, no images.
#  * Entities used: &amp; &quot; &#039; &#39; &#x27; &#8217; &rsquo; &mdash; &eacute;
#    plus backslash escapes of \ ` * _ [ ] < > # ~ & and of a leading - + = or "N." / "N)".
#  * Link text may carry leading/trailing spaces (trimmed in the rows) and, rarely, an
#    emphasised word (markers vanish; such emphasis is never the item's annotation).
#  * List numbers often repeat (as in the seed); ordinals are positions.
#  * Cover Image items: link text exactly "Cover Image" in some ASCII case, never padded;
#    occasionally two of them (the first wins, neither is a sources row).  A Source section
#    may hold only a Cover Image (n_sources 0).
#  * sources.domain: host = text between "scheme://" and the next "/", "?" or "#";
#    lower-cased, then ":port" removed, then one leading "www." removed.  URLs with no
#    "//" authority (mailto:, root-relative, relative) have domain NULL.  Hosts may be
#    upper/mixed case ("WWW.BBC.CO.UK" -> "bbc.co.uk"); "www3." is not stripped.
#  * URLs contain no spaces, parentheses, backslashes or ';' (so no entity can appear in a
#    destination); query strings may contain '&' followed by a name and '='.
#  * related.target_date: path date of the (normalised) target (first /YYYY/M/D/ run of
#    folders); dangling targets use valid calendar dates or have no date run at all
#    (/news/topics/<slug>.md, /news/2014/02/<slug>.md, /drafts/<slug>.md).  A few dangling
#    targets are /en/news/…: ROOT/en exists (it holds only a README.md), so they stay as
#    written (target_date from the path).
#  * Chinese mirror (about 7% of day folders, all their files and day pages): section
#    headings `### 信息来源:` / `### 有关:` (sometimes a full-width `：` or no colon; Changes
#    keeps its English heading and labels), related annotations `_消息: A, B_` (also
#    `消息：`, `消息:`) -> context "A, B", the cover image as a later link `[IMG](url)`
#    (sometimes `img`) in a source item (first in document order wins; the item stays a
#    source, named by its first link), no Cover Image items, and every /news/ link written
#    /zh/news/… (day_index, related targets, Changes targets, day-page links).  The root has
#    no zh folder, so rows show the /news/… form.
#  * Versions.  A group = the versions of one event in one day folder.  The newest version
#    has the full Changes list (First version, Update…, Current version = itself); a lone
#    version has that one-item list or none.  Each older version has, at random, the same
#    full list (naming the newest current), its own history up to itself (naming ITSELF
#    current), or no list.  Some groups have an orphan: their oldest file, in no Changes
#    list and with none of its own.  Rarely the newest version is missing from the folder
#    (named by the lists and the day page, not written).  Labels: "First version",
#    "Update", "Current version"; changed_at = the listed version's timestamp.
#  * Day pages per day folder (kinds in DAYPAGE_KINDS): none; README.md; README.md and an
#    identical index.md; README.md and an older index.md; an older index.md only; a newer
#    index.md only.  The newer form (SPEC §2: Formats line, `## [date](…/index.md)`, per
#    event an optional `##### topic`, `### [title ](path)`, maybe a `_Context: …_` line and
#    a summary, then `## [Previous Day...](…)`) links each group's newest version (the
#    missing one too), never an orphan, not always an untitled file.  The older form
#    (`### YYYY-MM-DD` + a numbered list) links every file of the folder, old versions and
#    orphans included (and a missing newest).  The folder's day page = README.md, else
#    index.md.
#  * is_current / current_path are computed from that model (resolve_folder) with the
#    rules file's Versions rules: (a) listed by another file of the folder with a label
#    other than Current version, (b) own first Current version item names another path,
#    (c) the day page links an event file of the folder but not this one; succ = the
#    lister with the most items, then the smallest path, else the own Current target;
#    current_path follows succ (stops outside the folder, or where a cycle closes; NULL
#    when the file has no succ).  Note: two older versions that both carry the full list
#    list each other as older, so with the path tie-break they can point at each other
#    (a 2-cycle) instead of at the newest version; the rows show what the rules give.
#  * Files that give no rows: day pages anywhere (README.md, index.md, any ASCII case:
#    ROOT/README.md, ROOT/index.md, ROOT/news/README.md, a year index.md, a month
#    readme.md, ROOT/opinion/*/README.md|Readme.md|INDEX.md, some of them looking like
#    event files or linking event files of other folders: no effect on those), dot files
#    and folders (.git, .trash, .hidden, .draft.md), notes.txt, cover.jpg.
#  * Problem files: "no title" files have no H1 and no paragraphs (summary NULL);
#    "date heading X differs from path" files have heading date = path date +/- 1..3 days.
#  * mtime = the version's timestamp (UTC epoch seconds), set with os.utime.
#  * Month/day folder spelling is chosen per day folder, so both 2015/3/... and
#    2015/03/... folders can exist for the same month (never two folders for one date).

import argparse
import calendar
import datetime
import os
import random
import re
import sys
import time

# ---------------------------------------------------------------------------------------
# Vocabulary for realistic text
# ---------------------------------------------------------------------------------------

ACTORS = [
    "Russian Foreign Minister Sergey Lavrov", "U.S. Secretary of State John Kerry",
    "The United Nations Security Council", "Egyptian President Abdel Fattah el-Sisi",
    "German Chancellor Angela Merkel", "French President Emmanuel Macron",
    "The European Union", "NATO", "The World Health Organization", "Police",
    "A coalition of protest groups", "The rebel alliance", "The Supreme Court", "Parliament",
    "The central bank", "A team of scientists", "The fire brigade", "A rescue team",
    "The electorate", "The government of Israel",
    "Hamas", "Fatah", "Turkish President Recep Tayyip Erdoğan",
    "Greek Prime Minister Alexis Tsipras", "Chinese President Xi Jinping",
    "Japanese Prime Minister Shinzō Abe", "Brazilian President Luiz Inácio Lula da Silva",
    "Iceland's parliament, the Althing,", "The International Monetary Fund", "NASA",
    "The European Space Agency", "Oil company BP", "Microsoft", "A court in São Paulo",
    "Opposition leader Alexei Navalny", "The Kurdish Peshmerga", "The Taliban",
    "Doctors Without Borders", "The International Committee of the Red Cross",
    "The national student union", "The transport workers' union", "The city council of Zürich",
    "The Mexican government", "India's Election Commission", "The African Union",
    "Saudi Arabia", "Iran", "North Korea", "The South Korean prosecutor's office",
    "An Australian research team", "Canadian Prime Minister Justin Trudeau", "Pope Francis",
    "FIFA", "The International Olympic Committee",
    "The Verkhovna Rada (Ukrainian: Верховна Рада)",
    "The Hellenic Parliament (Greek: Βουλή των Ελλήνων)",
    "The Knesset (Hebrew: הכנסת)", "The Arab League (Arabic: جامعة الدول العربية)",
    "The State Duma (Russian: Государственная дума)",
    "Japan's Ministry of Defense (防衛省)", "China's State Council (国务院)",
    "Polish President Andrzej Duda", "Côte d'Ivoire's electoral commission",
]
VERBS = [
    "announces", "condemns", "agrees to", "rejects", "approves", "launches", "suspends",
    "signs", "calls for", "opens an investigation into", "votes against", "welcomes",
    "postpones", "begins", "ends", "warns of", "denies", "confirms", "criticizes",
    "backs", "debates", "delays", "ratifies", "withdraws from",
]
OBJECTS = [
    "a new trade agreement", "sanctions against Russia", "a ceasefire in eastern Ukraine",
    "talks on Syria and Ukraine", "a referendum on independence",
    "the construction of a new pipeline", "a bill on same-sex marriage",
    "an emergency budget", "military-technological cooperation",
    "joint military exercises", "a vaccination campaign against measles",
    "the results of the presidential election", "a plan to reduce carbon emissions",
    "peace talks with the rebels", "an inquiry into the crash", "a unity deal",
    "new restrictions on the press", "the release of political prisoners",
    "a bailout package worth €86 billion", "a $2.5 billion loan",
    "the closure of the border", "a state of emergency", "the extradition request",
    "the mission to Mars", "a new coalition government", "the Paris climate agreement",
    "the \"Belt and Road\" initiative (一带一路)", "the Nord Stream 2 pipeline",
    "the so-called \"snap\" election", "a 24-hour general strike",
]
PLACES = [
    "in Moscow", "in Cairo", "in Kyiv", "in Donetsk", "in Damascus", "in Beijing",
    "in Tokyo", "in Athens", "in Istanbul", "in Jerusalem", "in Gaza", "in Tehran",
    "in Brussels", "in Geneva", "in Zürich", "in São Paulo", "in Bogotá", "in Reykjavík",
    "in Kraków", "in Łódź", "in Ho Chi Minh City", "in Nairobi", "in Lagos",
    "in Johannesburg", "in Sydney", "in Ottawa", "in Mexico City", "in New Delhi",
    "in Karachi", "in Kabul", "in Baghdad", "in Riyadh", "in Seoul", "in Pyongyang",
    "in Manila", "in Jakarta", "in Caracas", "in Lima", "in Buenos Aires",
    "in Washington, D.C.", "in London", "in Paris", "in Berlin", "in Madrid",
    "in Rome", "in Warsaw", "in Ankara", "in Minsk", "in Tbilisi", "in Yerevan",
    "in Baku", "in Hanoi", "in Bangkok", "in Addis Ababa", "in Khartoum", "in Tripoli",
    "in Tunis", "in Dakar", "in Kinshasa", "in Havana", "in Thessaloniki (Θεσσαλονίκη)",
    "in Saint Petersburg (Санкт-Петербург)", "in Osaka (大阪)", "in Alexandria (الإسكندرية)",
    "in Malmö", "in Düsseldorf", "in Besançon",
]
CLAUSES = [
    "", "", "", "", ", killing at least {n} people",
    ", forcing the evacuation of at least {n} people", ", according to officials",
    " amid growing protests", " after {n} days of negotiations",
    ", the first such move since {y}", ", despite objections from the opposition",
    " in a vote of {n} to {m}", ", injuring {n} others", ", state media reports",
    " for the first time in {n} years", ", ending a {n}-year dispute",
    " as Sisi's supporters rally outside", " ahead of next month's summit",
]
# Sentences for summaries; several put "2013." / "-" / "+" / "=" tokens mid-text, which a
# soft wrap may move to the start of a line (the writer must then escape them).
SUMMARY_SENTENCES = [
    "{A} says the decision is \"a step forward\" for the region.",
    "The move comes {n} days after a similar announcement {P}.",
    "Unemployment fell to {n}.{m} per cent, down from {m}.{n} in {y}. Analysts expect further gains.",
    "The vote was {n} - {m} in favour, with several members abstaining.",
    "Turnout reached {n} per cent, the highest since {y}. Officials praised the result.",
    "Prices rose by + {m} points on Monday before falling back.",
    "Under the agreement, base = {n} units for each member state.",
    "Critics say the plan does not go far enough and warn of new tensions.",
    "{A} has not yet commented on the reports.",
    "The incident is the deadliest of its kind since {y}.",
    "Negotiations are expected to resume next week {P}.",
    "Russian leader makes surprise declaration of support for Field Marshal Sisi's presidential bid - which has not yet been announced",
    "It was the {n}th such incident this year, according to a count by local media.",
    "Officials said about {n} people were still missing.",
]
# Text with markdown specials, entities-to-be and other traps (model text, unescaped).
SPECIAL_SNIPPETS = [
    "The hashtag #BringBackOurGirls trends worldwide.",
    "O'Brien calls the report \"fake news\".",
    "Hackers targeted the folder C:\\Windows\\System32 on government machines.",
    "The bill [HR 1234] passes the House.",
    "The app's rating rises from 3* to 5* overnight.",
    "Users of the snake_case API and __init__ hooks complain.",
    "Prices rise ~30% in a week.",
    "The <script> tag exploit affects all major browsers.",
    "Running `rm -rf /` deleted the archive.",
    "AT&T and Johnson & Johnson shares fall.",
    "Polls show support > 50% and opposition < 40%.",
    "The R&amp;D budget line (sic) is doubled.",
    "The motto is *never again*.",
    "The image ![protest] circulates online.",
    "Rebels hold **most** of the city, says the #1 militia.",
    "A backslash \\ at the end is kept \\",
    "The phrase [citation needed] appears in the draft.",
    "Sisi's supporters say it's \"historic\" — opponents disagree.",
    "The company’s shares fall 12%.",
    "Wages rise 3 * 2 = 6 per cent in nominal terms.",
    "The café and the résumé rules change.",
    "Brackets ] and [ are unbalanced here.",
    "Temperatures reach 45 °C in Seville.",
    "### Not a heading, says the editor.",
    "--- is not a rule here.",
    "`Backticks` and ``double ones`` stay literal.",
    "The e-mail <press@example.org> was leaked.",
    "The entity &#039; should stay literal text.",
]
# Paragraph openings that would make a block (list, heading, quote, rule) if unescaped.
PARA_STARTS = [
    "- Reporting by Reuters.", "1. Background:", "2014. A year of crisis.",
    "+ Additional reporting by AFP.", "> Quote of the day:", "# 1 seed loses.",
    "== Update ==", "3) Third point:", "* Editor's note:", "~~~ Transcript follows.",
    "<b>Breaking</b>:", "*** Developing story.", "1) First:", "10. Tenth point:",
]
NATIVE_TITLES = [
    "Пожар в торговом центре «Синдика» на северо-западе Москвы: эвакуированы более 3000 человек.",
    "Σεισμός 6,1 Ρίχτερ στην Κεφαλονιά προκαλεί ζημιές σε σπίτια και δρόμους του νησιού.",
    "东京奥运会推迟至2021年举行，国际奥委会与日本政府达成一致。",
    "الرئيس المصري يلتقي وزير الخارجية الروسي في القاهرة لبحث التعاون العسكري بين البلدين.",
    "Incendie à Notre-Dame de Paris : la flèche de la cathédrale s'effondre.",
    "Terremoto de magnitude 7,8 atinge o Equador e deixa centenas de mortos.",
    "Верховна Рада ухвалила закон про мову після тривалих дебатів.",
    "日本の国会で新しい安全保障関連法案が可決されました。",
]
TOPICS = [
    "Egypt-Russia relations", "2014 Ukrainian crisis", "Syrian civil war", "Brexit",
    "COVID-19 pandemic", "Greek government-debt crisis", "Arab Spring",
    "European migrant crisis", "Israeli-Palestinian conflict", "Climate change",
    "2011 Tōhoku earthquake", "Venezuelan crisis",
]
# Topic headings (`##### topic` in newer event files, H5 topics on day pages).  Plain text
# that is never date-shaped and never a section name; specials go through esc().
EVENT_TOPICS = TOPICS + [
    "2018 Ouagadougou attacks", "2015 Paris attacks", "Côte d'Ivoire crisis",
    "AT&T–Time Warner merger", "#MeToo movement", "Hurricane Maria",
    "2017 Catalan independence referendum", "Sisi's presidency", "Rock & Roll Hall of Fame",
    "\"Yellow vests\" protests", "2019 Hong Kong protests", "Notre-Dame de Paris fire",
]
# Topics of the Chinese mirror's events.
ZH_TOPICS = [
    "2019年香港反修例运动", "中美贸易战", "新型冠状病毒肺炎疫情", "叙利亚内战", "英国脱欧",
    "2018年瓦加杜古袭击事件", "朝鲜核问题", "埃及与俄罗斯关系",
]
CONTEXT_TERMS = [
    "Moscow", "Sergey Lavrov", "Cairo", "Côte d'Ivoire", "São Paulo", "Москва",
    "Αθήνα", "東京", "القاهرة", "Tel Aviv", "Johnson & Johnson", "AT&T",
    "Recep Tayyip Erdoğan", "2014 Ukrainian revolution", "COVID-19 pandemic", "Brexit",
    "Syrian civil war", "Hurricane Katrina", "Fukushima Daiichi", "#MeToo", "Kyiv",
    "Angela Merkel", "European Union", "Gaza Strip", "Hamas", "Fatah", "Iceland",
    "Reykjavík", "United Nations", "Xi Jinping", "Donetsk", "Beijing", "Kraków",
]
# (name, host) of news outlets; hosts as they appear in URLs.
OUTLETS = [
    ("Al-Ahram", "english.ahram.org.eg"), ("The Hindu", "www.thehindu.com"),
    ("The Telegraph", "www.telegraph.co.uk"), ("BBC News", "www.bbc.co.uk"),
    ("Reuters", "www.reuters.com"), ("Al Jazeera", "www.aljazeera.com"),
    ("The Guardian", "www.theguardian.com"), ("The New York Times", "www.nytimes.com"),
    ("Deutsche Welle", "www.dw.com"), ("France 24", "www.france24.com"),
    ("NHK World", "www3.nhk.or.jp"), ("Xinhua", "www.xinhuanet.com"),
    ("ТАСС", "tass.ru"), ("Kathimerini", "www.ekathimerini.com"),
    ("Le Monde", "www.lemonde.fr"), ("El País", "elpais.com"),
    ("Haaretz", "www.haaretz.com"), ("ABC News (Australia)", "www.abc.net.au"),
    ("CBC", "www.cbc.ca"), ("The Straits Times", "www.straitstimes.com"),
    ("Dawn", "www.dawn.com"), ("Mail & Guardian", "mg.co.za"),
    ("South China Morning Post", "www.scmp.com"), ("新华网", "www.news.cn"),
    ("Al Arabiya العربية", "www.alarabiya.net"), ("Yahoo! News", "news.yahoo.com"),
    ("The Washington Post", "www.washingtonpost.com"), ("AP", "apnews.com"),
    ("RT", "www.rt.com"), ("Meduza", "meduza.io"), ("Kyiv Post", "www.kyivpost.com"),
    ("Sky News", "news.sky.com"), ("CNN", "edition.cnn.com"),
    ("Bloomberg", "www.bloomberg.com"), ("The Moscow Times", "www.themoscowtimes.com"),
    ("Hürriyet Daily News", "www.hurriyetdailynews.com"),
    ("The Japan Times", "www.japantimes.co.jp"), ("Yonhap", "en.yna.co.kr"),
    ("Radio Free Europe/Radio Liberty", "www.rferl.org"),
    ("Reuters [via Yahoo]", "uk.news.yahoo.com"), ("Tom's Guide", "www.tomsguide.com"),
    ("The Times of Israel", "www.timesofisrael.com"), ("Ekathimerini_English", "www.ekathimerini.com"),
]
COVER_HOSTS = [
    "i.telegraph.co.uk", "static01.nyt.com", "ichef.bbci.co.uk", "i.guim.co.uk",
    "www.aljazeera.com", "s.yimg.com", "upload.wikimedia.org",
]
COVER_TEXTS = ["Cover Image"] * 6 + ["cover image", "COVER IMAGE", "Cover image", "cover Image"]
NO_HOST_URLS = [
    "mailto:newsdesk@ahram.org.eg", "mailto:tips@example.org",
    "/news/statements/press-release.pdf", "../attachments/statement.pdf",
    "press-release.html", "urn:isbn:9780140449136",
]
PATH_WORDS = (
    "world europe africa middle-east asia politics economy business science health "
    "russia egypt ukraine syria climate election vote court protest deal talks crisis "
    "war peace fire quake flood storm summit minister president parliament"
).split()

# Archive span and the moment the archive's version history starts (cf. seed: 2017-08-25).
SPAN_START = datetime.date(2001, 1, 1)
SPAN_END = datetime.date(2024, 12, 31)
HISTORY_START = calendar.timegm((2017, 8, 1, 0, 0, 0))


# ---------------------------------------------------------------------------------------
# Model text generation
# ---------------------------------------------------------------------------------------

def fill(template, rng):
    """Fill {A} {P} {n} {m} {y} placeholders of a template."""
    return template.format(
        A=rng.choice(ACTORS), P=rng.choice(PLACES), n=rng.randint(2, 300),
        m=rng.randint(1, 99), y=rng.randint(1990, 2016))


def news_sentence(rng):
    """One headline-style sentence of plain model text."""
    s = "%s %s %s %s%s." % (rng.choice(ACTORS), rng.choice(VERBS), rng.choice(OBJECTS),
                            rng.choice(PLACES), rng.choice(CLAUSES))
    return fill(s, rng) if "{" in s else s


def norm(text):
    """Single-space a model text and trim it (model texts never hold other white space)."""
    return " ".join(text.split())


def make_title(rng):
    """An event title, typically 100-400 characters."""
    target = rng.randint(100, 400)
    parts = []
    if rng.random() < 0.03:
        parts.append(rng.choice(NATIVE_TITLES))
    total = sum(len(p) + 1 for p in parts)
    while total < target:
        s = rng.choice(SPECIAL_SNIPPETS) if rng.random() < 0.06 else news_sentence(rng)
        if parts and total + len(s) > 420:
            break
        parts.append(s)
        total += len(s) + 1
    return norm(" ".join(parts))


def version_title(base, rng):
    """The title of an older version of an event whose newest title is `base`."""
    r = rng.random()
    if r < 0.5:
        topic = rng.choice(TOPICS)
        return norm(topic + (":" if rng.random() < 0.5 else ": ") + base)
    shorter = base.rsplit(". ", 1)[0] + "."
    if r < 0.8 and len(shorter) >= 100:
        return norm(shorter)
    if len(base) < 300:
        return norm(base + " " + news_sentence(rng))
    return norm(base + " (updated)")


def make_paragraph(rng):
    """A summary paragraph of plain model text."""
    parts = []
    if rng.random() < 0.05:
        parts.append(rng.choice(PARA_STARTS))
    target = rng.randint(80, 650)
    total = 0
    while total < target:
        r = rng.random()
        if r < 0.08:
            s = rng.choice(SPECIAL_SNIPPETS)
        elif r < 0.55:
            s = fill(rng.choice(SUMMARY_SENTENCES), rng)
        else:
            s = news_sentence(rng)
        parts.append(s)
        total += len(s) + 1
    return norm(" ".join(parts))


def make_context(rng):
    k = rng.choice((1, 1, 1, 2, 2, 3))
    terms = []
    while len(terms) < k:
        t = rng.choice(CONTEXT_TERMS)
        if t not in terms:
            terms.append(t)
    return ", ".join(terms)


def slugify(title, keep_unicode):
    """Slug like the real archive's: lower case, runs of other characters -> '-', <=140
    characters and <=200 bytes.  Non-ASCII letters are kept only when keep_unicode."""
    out = []
    dash = False
    for ch in title.lower():
        if ch.isalnum() and (ch.isascii() or keep_unicode):
            out.append(ch)
            dash = False
        elif not dash:
            out.append("-")
            dash = True
    s = "".join(out).strip("-")[:140].rstrip("-")
    while len(s.encode("utf-8")) > 200:
        s = s[:-1].rstrip("-")
    return s or "event"


# ---------------------------------------------------------------------------------------
# Markdown writing: escape model text so that cmark's plain text equals it exactly
# ---------------------------------------------------------------------------------------

_SPECIAL = re.compile("[\\\\`*_\\[\\]<>#~&'\"’—é]")
_APOS = ("&#039;", "&#39;", "&#x27;")


def esc(text, rng):
    """Backslash-escape markdown specials; spell some characters as entities."""
    if not _SPECIAL.search(text):
        return text
    rnd = rng.random

    def rep(m):
        c = m.group(0)
        if c == "&":
            return "&amp;" if rnd() < 0.7 else "\\&"
        if c == "'":
            return rng.choice(_APOS) if rnd() < 0.15 else c
        if c == '"':
            return "&quot;" if rnd() < 0.3 else c
        if c == "’":
            return ("&#8217;" if rnd() < 0.5 else "&rsquo;") if rnd() < 0.3 else c
        if c == "—":
            return "&mdash;" if rnd() < 0.3 else c
        if c == "é":
            return "&eacute;" if rnd() < 0.1 else c
        return "\\" + c
    return _SPECIAL.sub(rep, text)


_WORD = re.compile(r"[A-Za-z]{3,}\Z")
_DECOR = ("*%s*", "_%s_", "**%s**", "`%s`")


def decorate(tokens, rng, p):
    """With probability p, wrap one purely alphabetic token in emphasis/strong/code
    markers (which vanish from the plain text).  tokens: escaped, space-separated."""
    if rng.random() < p:
        cands = [i for i, t in enumerate(tokens) if _WORD.match(t)]
        if cands:
            i = rng.choice(cands)
            tokens[i] = rng.choice(_DECOR) % tokens[i]
    return tokens


def inline(text, rng, p_decor=0.0):
    """Markdown for a one-line inline text (heading content, link text, emphasis)."""
    s = esc(text, rng)
    if p_decor:
        s = " ".join(decorate(s.split(" "), rng, p_decor))
    return s


# A line start that would open a block: bullet / ordered list marker, setext underline.
# (#, >, <, ~, `, *, _ are escaped everywhere by esc().)
_GUARD = re.compile(r"[-+=]|\d{1,9}[.)](?= |\Z)")


def guard_line(line):
    m = _GUARD.match(line)
    if not m:
        return line
    g = m.group(0)
    if g[0] in "-+=":
        return "\\" + line
    return line[:len(g) - 1] + "\\" + line[len(g) - 1:]


def paragraph_md(text, rng):
    """Markdown lines for a summary paragraph: escaped, sometimes decorated, sometimes
    soft-wrapped (over two lines, or filled to a width); each line start guarded."""
    toks = decorate(esc(text, rng).split(" "), rng, 0.15)
    r = rng.random()
    lines = None
    if r < 0.2 and len(toks) > 3:
        # Prefer breaking before a token that would open a block at a line start.
        risky = [i for i in range(1, len(toks)) if _GUARD.match(toks[i])]
        cut = rng.choice(risky) if risky and rng.random() < 0.6 else rng.randrange(1, len(toks))
        lines = [" ".join(toks[:cut]), " ".join(toks[cut:])]
    elif r < 0.27 and len(toks) > 3:
        width = rng.randint(60, 100)
        lines, cur = [], []
        n = 0
        for t in toks:
            if cur and n + len(t) > width:
                lines.append(" ".join(cur))
                cur, n = [], 0
            cur.append(t)
            n += len(t) + 1
        lines.append(" ".join(cur))
    else:
        lines = [" ".join(toks)]
    return "\n".join(guard_line(l) for l in lines)


def numbering(count, rng, repeat_last=False):
    """List numbers: usually 1..count; sometimes a number repeats (like the seed)."""
    nums = []
    n = 0
    for i in range(count):
        if i == 0 or not (rng.random() < 0.06 or (repeat_last and i == count - 1)):
            n += 1
        nums.append(n)
    return nums


# ---------------------------------------------------------------------------------------
# URLs
# ---------------------------------------------------------------------------------------

def domain_of(host):
    """Model of sources.domain for a URL with this host text ("" = no host)."""
    if not host:
        return None
    h = host.lower()
    if ":" in h:
        h = h.split(":", 1)[0]
    if h.startswith("www."):
        h = h[4:]
    return h


def source_url(host, rng):
    """(url, host-as-written) for a news article.  host '' -> URL without a host."""
    if rng.random() < 0.02:
        return rng.choice(NO_HOST_URLS), ""
    r = rng.random()
    if r < 0.04:
        host = host.upper()
    elif r < 0.07:
        host = ".".join(p.capitalize() for p in host.split("."))
    if rng.random() < 0.015:
        host += rng.choice((":8080", ":8000", ":443"))
    words = "-".join(rng.choice(PATH_WORDS) for _ in range(rng.randint(3, 9)))
    y = rng.randint(2001, 2024)
    shape = rng.randrange(4)
    if shape == 0:
        path = "/news/%s/%d/%02d/%s-%d.html" % (rng.choice(PATH_WORDS), y,
                                                 rng.randint(1, 12), words, rng.randint(1000, 99999999))
    elif shape == 1:
        path = "/%s/%s/article%d.ece" % (rng.choice(PATH_WORDS), words, rng.randint(10000, 9999999))
    elif shape == 2:
        path = "/NewsContent/1/64/%d/%s/%s.aspx" % (rng.randint(1000, 999999),
                                                    rng.choice(PATH_WORDS).capitalize(), words)
    else:
        path = "/%d/%s?id=%d&src=rss" % (y, words, rng.randint(1, 99999))
    scheme = "https" if rng.random() < 0.5 else "http"
    return "%s://%s%s" % (scheme, host, path), host


def cover_url(rng):
    host = rng.choice(COVER_HOSTS)
    return "http%s://%s/multimedia/archive/%05d/%s_%dk.jpg" % (
        "s" if rng.random() < 0.5 else "", host, rng.randint(1, 99999),
        "-".join(rng.choice(PATH_WORDS).capitalize() for _ in range(rng.randint(1, 4))),
        rng.randint(100000, 9999999))


# ---------------------------------------------------------------------------------------
# Dates and folders
# ---------------------------------------------------------------------------------------

def folder_for(d, style):
    """Day folder spelled in one of the styles: 'pad' 2014/02/03, 'nopad' 2014/2/3,
    'mpad' 2014/02/3, 'dpad' 2014/2/03."""
    m = "%02d" % d.month if style in ("pad", "mpad") else str(d.month)
    dd = "%02d" % d.day if style in ("pad", "dpad") else str(d.day)
    return "/news/%d/%s/%s" % (d.year, m, dd)


def pick_style(d, rng):
    r = rng.random()
    if r < 0.04:
        return rng.choice(("mpad", "dpad"))
    padded = rng.random() < (0.85 if d.year < 2017 else 0.15)
    return "pad" if padded else "nopad"


def date_text(folder):
    """The date as its day folder spells it: /news/2018/03/2 -> '2018-03-2'."""
    return "-".join(folder.rsplit("/", 3)[1:])


def fmt_ts(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


# ---------------------------------------------------------------------------------------
# The plan: every event file's path, date, title and version group
# ---------------------------------------------------------------------------------------

class Group:
    """Versions of one event.  files: plan indices of the written files, oldest first;
    times: their timestamps (= mtimes).  orphan: files[0] is an old version that no
    Changes list names.  phantom: (path, title, time) of a newest version that Changes
    lists and the day page name but that is not in the folder, else None.  has_changes:
    whether a single-version event has a Changes list.  topic: the event's topic text."""
    __slots__ = ("files", "times", "has_changes", "orphan", "phantom", "topic")

    def __init__(self):
        self.files, self.times, self.has_changes = [], [], True
        self.orphan, self.phantom, self.topic = False, None, None


class FileModel:
    """One event file: root-relative path, path date (heading date for drafts), model
    title, kind ('event', 'draft', 'notitle', 'mismatch'), its Group and version index.
    Filled in by make_model: zh (Chinese-mirror folder), newfmt (Formats line, sections
    Changes before Related), own_topic (its topic heading or None), chg (its Changes
    items: (target, title, changed_at, label), targets normalised), and the expected
    topic, is_current and current_path."""
    __slots__ = ("path", "date", "title", "kind", "group", "vidx", "zh", "newfmt",
                 "own_topic", "chg", "topic", "is_current", "current_path")

    def __init__(self, path, date, title, kind, group, vidx):
        self.path, self.date, self.title, self.kind = path, date, title, kind
        self.group, self.vidx = group, vidx
        self.zh = self.newfmt = False
        self.own_topic = self.topic = self.current_path = None
        self.chg = ()
        self.is_current = 1


def make_plan(n_files, rng):
    """Lay out n_files event files.  Returns (files, folders, by_date): files is the list
    of FileModel (versions of a group are consecutive, oldest first), folders maps a day
    folder ('/news/2014/02/13') to [date, [plan indices]], by_date maps a date to its
    day folder."""
    span = (SPAN_END - SPAN_START).days + 1
    n_days = min(span, max(1, -(-n_files // 4)))
    day_ords = sorted(rng.sample(range(span), n_days))
    days = []          # (date, folder)
    folders = {}       # folder -> [date, [file indices]]
    by_date = {}       # date -> folder (one folder per date)
    for o in day_ords:
        d = SPAN_START + datetime.timedelta(days=o)
        f = folder_for(d, pick_style(d, rng))
        days.append((d, f))
        folders[f] = [d, []]
        by_date[d] = f

    def share(p):
        return max(1 if n_files >= 20 else 0, round(n_files * p))
    n_drafts = share(0.005)
    n_notitle = share(0.0015)
    n_mismatch = share(0.0015)
    n_regular = max(0, n_files - n_drafts - n_notitle - n_mismatch)
    if n_regular == 0:      # tiny corpus: regular files only
        n_drafts = n_notitle = n_mismatch = 0
        n_regular = n_files

    files = []
    used = {}           # folder -> set of slugs taken (membership tests only)

    def unique(folder, slug):
        s = used.setdefault(folder, set())
        base, k = slug, 2
        while slug in s or slug in ("index", "readme"):
            slug = "%s-%d" % (base, k)
            k += 1
        s.add(slug)
        return slug

    def add_group(kind, k, folder, d):
        g = Group()
        # Rarely the newest version is named (Changes lists, day page) but missing.
        n_v = k + 1 if kind == "event" and rng.random() < 0.012 else k
        title = make_title(rng)
        titles = [title]
        for _ in range(n_v - 1):
            titles.append(version_title(titles[-1], rng))
        titles.reverse()                          # oldest first
        keep_u = rng.random() < 0.3
        t = calendar.timegm(d.timetuple()) + rng.randint(3600, 3 * 86400)
        t = max(t, HISTORY_START + rng.randint(0, 400 * 86400))
        for v in range(n_v):
            slug = unique(folder, slugify(titles[v], keep_u))
            path = "%s/%s.md" % (folder, slug)
            if v == k:
                g.phantom = (path, titles[v], t)
                break
            idx = len(files)
            files.append(FileModel(path, d, titles[v], kind, g, v))
            g.files.append(idx)
            g.times.append(t)
            t += rng.randint(600, 5 * 86400)
            if folder in folders:
                folders[folder][1].append(idx)
        if n_v == 1 and (kind != "event" or rng.random() < 0.3):
            g.has_changes = kind == "draft" and rng.random() < 0.5
        g.orphan = k >= 2 and rng.random() < 0.12
        return g

    left = n_regular
    while left > 0:
        r = rng.random()
        k = 1 if r < 0.80 else 2 if r < 0.92 else 3 if r < 0.98 else 4
        k = min(k, left)
        d, f = rng.choice(days)
        add_group("event", k, f, d)
        left -= k
    for _ in range(n_drafts):
        d = SPAN_START + datetime.timedelta(days=rng.randrange(span))
        add_group("draft", 1, "/drafts", d)
    for kind, n in (("notitle", n_notitle), ("mismatch", n_mismatch)):
        for _ in range(n):
            d, f = rng.choice(days)
            add_group(kind, 1, f, d)
    return files, folders, by_date


# ---------------------------------------------------------------------------------------
# The versions model: Changes lists, day pages, and what the Versions rules make of them
# ---------------------------------------------------------------------------------------

# Day pages of a day folder: README.md (newer form), index.md in the newer form (the same
# text as README.md) or the older form (a numbered list linking every file, old versions
# too), in these combinations (weights).
DAYPAGE_KINDS = [("none", 8), ("readme", 14), ("readme+index", 35), ("readme+oldindex", 18),
                 ("oldindex", 15), ("newindex", 10)]
_DAYPAGE_TOTAL = sum(w for _, w in DAYPAGE_KINDS)


def pick_daypage_kind(rng):
    r = rng.random() * _DAYPAGE_TOTAL
    acc = 0
    for k, w in DAYPAGE_KINDS:
        acc += w
        if r < acc:
            return k
    return DAYPAGE_KINDS[-1][0]


class DayFolder:
    """A day folder's pages.  kind: see DAYPAGE_KINDS; zh: a Chinese-mirror folder (links
    written /zh/news/...).  entries: the newer form's H3 links in order, (path, title, h5)
    with h5 the H5 topic heading written just before that link or None (README.md, and
    index.md in the kinds 'readme+index' / 'newindex'); old_links: the older index.md's
    list, (path, title)."""
    __slots__ = ("kind", "zh", "entries", "old_links")

    def __init__(self, kind, zh):
        self.kind, self.zh, self.entries, self.old_links = kind, zh, None, None

    def links_and_topics(self):
        """(set of linked paths, {path: topic}) of the folder's day page (README.md, else
        index.md), or (None, None) when it has none.  A link's topic is the last H5
        heading before it (H3 links do not end a topic); the first link of a path wins."""
        if self.entries is not None:
            topics, cur = {}, None
            for p, _t, h5 in self.entries:
                if h5 is not None:
                    cur = h5
                topics.setdefault(p, cur)
            return set(topics), topics
        if self.old_links is not None:
            return set(p for p, _t in self.old_links), {}
        return None, None


def changes_list(chain, upto):
    """Changes items naming chain[0..upto] (chain: (path, title, time) oldest first), the
    last one current: (target, title, changed_at, label)."""
    items = []
    for i in range(upto + 1):
        p, title, t = chain[i]
        if i == upto:
            items.append((p, title, None, "Current version"))
        else:
            items.append((p, title, fmt_ts(t), "First version" if i == 0 else "Update"))
    return items


def own_current(fm):
    """Normalised target of fm's first `Current version` item (None: no item or no link)."""
    for t, _title, _at, label in fm.chg:
        if label.lower() == "current version":
            return t
    return None


def resolve_folder(fms, links, topics):
    """The rules file's Versions rules over the model of one folder: fms its event files,
    links the paths its day page links (None: no day page), topics {path: day-page topic}.
    Sets topic, is_current and current_path of every file in fms."""
    by_path = {f.path: f for f in fms}
    listers = {}          # path -> files that list it with a label other than current
    for g in fms:
        for t, _title, _at, label in g.chg:
            if t is not None and t != g.path and label.lower() != "current version":
                ls = listers.setdefault(t, [])
                if g not in ls:
                    ls.append(g)
    page = links is not None and any(p in by_path for p in links)

    def succ(f):
        ls = listers.get(f.path)
        if ls:
            return min(ls, key=lambda g: (-len(g.chg), g.path)).path
        c = own_current(f)
        return c if c is not None and c != f.path else None

    for f in fms:
        c = own_current(f)
        sup = (f.path in listers                                   # (a)
               or (c is not None and c != f.path)                  # (b)
               or (page and f.path not in links))                  # (c)
        f.is_current = 0 if sup else 1
        if not sup:
            f.current_path = f.path
        else:
            x, visited = f.path, {f.path}
            while True:
                s = succ(by_path[x])
                if s is None:
                    break
                if s not in by_path:        # a path outside the folder's event files
                    x = s
                    break
                if s in visited:            # the cycle closes
                    break
                visited.add(s)
                x = s
            f.current_path = None if x == f.path else x
        f.topic = f.own_topic if f.own_topic is not None else (topics or {}).get(f.path)


def make_model(files, folders, rng):
    """Choose every file's Changes list, format and topic heading and every day folder's
    pages; then compute topic, is_current and current_path from that model alone.
    Returns {day folder: DayFolder} for the folders that hold event files."""
    meta = {}
    for folder, (d, idxs) in folders.items():
        if idxs:
            meta[folder] = DayFolder(pick_daypage_kind(rng), rng.random() < 0.07)
    seen = set()
    for fm in files:
        g = fm.group
        if id(g) in seen:
            continue
        seen.add(id(g))
        dm = meta.get(fm.path.rsplit("/", 1)[0])
        zh = dm is not None and dm.zh
        g.topic = rng.choice(ZH_TOPICS if zh and rng.random() < 0.7 else EVENT_TOPICS)
        start = 1 if g.orphan else 0
        chain = [(files[i].path, files[i].title, g.times[j])
                 for j, i in enumerate(g.files) if j >= start]
        if g.phantom:
            chain.append(g.phantom)
        full = changes_list(chain, len(chain) - 1)
        last = len(g.files) - 1
        for j, i in enumerate(g.files):
            f = files[i]
            f.zh = zh
            if j < start:                                   # the orphan: no list, old form
                continue
            if j == last and g.phantom is None:             # the newest version
                f.chg = full if len(chain) > 1 or g.has_changes else ()
                f.newfmt = rng.random() < 0.5
            else:                                           # an older version
                r = rng.random()
                f.chg = full if r < 0.4 else changes_list(chain, j - start) if r < 0.75 else ()
                f.newfmt = rng.random() < 0.2
            if f.newfmt and rng.random() < 0.8:
                f.own_topic = g.topic
    # Day pages: the newer form links each event's newest version (the missing one of a
    # phantom group; orphans never; untitled files not always) under an optional H5 topic.
    for folder, dm in meta.items():
        idxs = folders[folder][1]
        if dm.kind in ("readme", "readme+index", "readme+oldindex", "newindex"):
            entries, seen = [], set()
            for i in idxs:
                g = files[i].group
                if id(g) in seen:
                    continue
                seen.add(id(g))
                if g.phantom:
                    p, t, own = g.phantom[0], g.phantom[1], None
                else:
                    nf = files[g.files[-1]]
                    if nf.kind == "notitle" and rng.random() < 0.3:
                        continue
                    p, t, own = nf.path, nf.title, nf.own_topic
                if own is not None:
                    h5 = own
                    if rng.random() < 0.1:                      # the page's topic differs
                        h5 = rng.choice([x for x in EVENT_TOPICS if x != own])
                else:
                    h5 = g.topic if rng.random() < 0.65 else None
                entries.append((p, t, h5))
            dm.entries = entries
        if dm.kind in ("readme+oldindex", "oldindex"):
            old = []
            for i in idxs:
                f = files[i]
                old.append((f.path, f.title))
                g = f.group
                if g.phantom is not None and i == g.files[-1]:
                    old.append((g.phantom[0], g.phantom[1]))
            dm.old_links = old
    # The rules, folder by folder (drafts too: no day page there).
    by_folder = {}
    for f in files:
        by_folder.setdefault(f.path.rsplit("/", 1)[0], []).append(f)
    for folder, fms in by_folder.items():
        dm = meta.get(folder)
        links, topics = dm.links_and_topics() if dm is not None else (None, None)
        resolve_folder(fms, links, topics)
    return meta


# ---------------------------------------------------------------------------------------
# Expected rows (SQL)
# ---------------------------------------------------------------------------------------

TABLES = {
    "exp_events": "path TEXT, date TEXT, title TEXT, topic TEXT, summary TEXT, "
                  "cover_image TEXT, day_index TEXT, is_current INT, current_path TEXT, "
                  "n_sources INT, n_related INT, n_changes INT, size INT, mtime INT, "
                  "problem TEXT",
    "exp_sources": "event_path TEXT, ordinal INT, name TEXT, url TEXT, domain TEXT",
    "exp_related": "event_path TEXT, ordinal INT, title TEXT, target TEXT, "
                   "target_date TEXT, context TEXT",
    "exp_changes": "event_path TEXT, ordinal INT, title TEXT, target TEXT, "
                   "changed_at TEXT, label TEXT, is_current INT",
}


def sql_lit(v):
    if v is None:
        return "NULL"
    if isinstance(v, int):
        return str(v)
    return "'" + v.replace("'", "''") + "'"


class SqlOut:
    """Streams multi-row INSERTs (BATCH rows per statement) inside one transaction."""
    BATCH = 500

    def __init__(self, path):
        self.f = open(path, "w", encoding="utf-8", newline="\n")
        self.buf = {t: [] for t in TABLES}
        self.f.write("BEGIN;\n")
        for t, cols in TABLES.items():
            self.f.write("DROP TABLE IF EXISTS %s;\nCREATE TABLE %s(%s);\n" % (t, t, cols))

    def add(self, table, *values):
        b = self.buf[table]
        b.append("(" + ",".join(map(sql_lit, values)) + ")")
        if len(b) >= self.BATCH:
            self.flush(table)

    def flush(self, table):
        b = self.buf[table]
        if b:
            self.f.write("INSERT INTO %s VALUES\n%s;\n" % (table, ",\n".join(b)))
            b.clear()

    def close(self):
        for t in TABLES:
            self.flush(t)
        self.f.write("COMMIT;\n")
        self.f.close()


# ---------------------------------------------------------------------------------------
# Writing event files
# ---------------------------------------------------------------------------------------

SOURCE_HEADINGS = (["### Source:"] * 12 + ["### Sources"] * 3 + ["### Sources:"] * 2
                   + ["### Source", "## Sources:", "### SOURCE:"])
RELATED_HEADINGS = ["### Related:"] * 15 + ["### Related"] * 3 + ["## Related:", "### RELATED"]
CHANGES_HEADINGS = ["### Changes:"] * 16 + ["### Changes"] * 2 + ["## Changes:", "### CHANGES:"]
# The Chinese mirror's section names (Changes keeps its English name there).
ZH_SOURCE_HEADINGS = ["### 信息来源:"] * 8 + ["### 信息来源：", "### 信息来源"]
ZH_RELATED_HEADINGS = ["### 有关:"] * 8 + ["### 有关：", "### 有关"]
ZH_CONTEXT = ["消息: "] * 6 + ["消息：", "消息:"]


class Writer:
    """Writes the event files group by group (all versions of an event share one body:
    summary, sources, related) and streams each file's expected rows to the SqlOut.
    Every value that goes into a row is chosen here, in the plan or in the model
    (make_model); the markdown is produced from those values, never read back."""

    def __init__(self, root, files, folders, by_date, sql, rng):
        self.root, self.files, self.folders, self.by_date = root, files, folders, by_date
        self.sql, self.rng = sql, rng
        # Related targets: newest versions of titled events (incl. drafts).
        self.targets = [i for i, f in enumerate(files)
                        if f.vidx == len(f.group.files) - 1 and f.kind in ("event", "draft")]
        self.paths = set(f.path for f in files)
        self.sizes = []

    # -- body shared by all versions of a group ------------------------------------------

    def make_body(self, gfiles):
        rng = self.rng
        zh = self.files[gfiles[0]].zh
        body = {}
        r = rng.random()
        n_par = 0 if r < 0.15 else 1 if r < 0.70 else 2 if r < 0.92 else 3
        body["paras"] = [make_paragraph(rng) for _ in range(n_par)]
        # Sources: items ("s", (name, url, domain), [IMG links (text, url)]) and
        # ("c", (text, url), None) for Cover Image items; the mirror puts its cover image
        # as an [IMG](url) link inside a source item instead.
        if rng.random() < 0.02:
            body["sources"] = None                      # no Source section at all
        else:
            n_src = 0 if rng.random() < 0.01 else rng.randint(2, 6)
            srcs = []
            for _ in range(n_src):
                name, host = rng.choice(OUTLETS)
                url, h = source_url(host, rng)
                srcs.append((name, url, domain_of(h)))
            covers = []
            if rng.random() < 0.8 or n_src == 0:
                covers.append(cover_url(rng))
                if rng.random() < 0.02:
                    covers.append(cover_url(rng))
            items = [("s", s, []) for s in srcs]
            if zh:
                for c in covers:                # IMG on the first item, or another one
                    if items:
                        k = 0 if rng.random() < 0.7 else rng.randrange(len(items))
                        items[k][2].append(("IMG" if rng.random() < 0.9 else "img", c))
            else:
                # Item order: sources with the cover(s) usually last, sometimes inside.
                for c in covers:
                    pos = len(items) if rng.random() < 0.85 else rng.randint(0, len(items))
                    items.insert(pos, ("c", (rng.choice(COVER_TEXTS), c), None))
            body["sources"] = items
            body["src_heading"] = rng.choice(ZH_SOURCE_HEADINGS if zh else SOURCE_HEADINGS)
        # Related.
        n_rel = rng.choice((0, 0, 1, 2, 3, 3, 4, 5, 5, 6, 6))
        own = set(self.files[i].path for i in gfiles)
        rel = []
        for _ in range(n_rel):
            rel.append(self.related_item(own))
        body["related"] = rel
        body["rel_empty_heading"] = n_rel == 0 and rng.random() < 0.05
        body["rel_heading"] = rng.choice(ZH_RELATED_HEADINGS if zh else RELATED_HEADINGS)
        body["chg_heading"] = rng.choice(CHANGES_HEADINGS)
        return body

    def related_item(self, own):
        """(title, target, target_date, context) of one related item (target as the row
        shows it; the mirror writes /news/ targets as /zh/news/)."""
        rng = self.rng
        r = rng.random()
        title = target = tdate = None
        if r < 0.65 and self.targets:
            for _ in range(4):
                f = self.files[rng.choice(self.targets)]
                if f.path not in own:
                    title, target = f.title, f.path
                    tdate = None if f.kind == "draft" else f.date.isoformat()
                    break
        if target is None:
            title = make_title(rng)
            slug = slugify(title, rng.random() < 0.3)
            r = rng.random()
            if r < 0.75:   # dangling, dated
                span = (SPAN_END - SPAN_START).days
                d = SPAN_START + datetime.timedelta(days=rng.randrange(span))
                folder = self.by_date.get(d) or folder_for(d, pick_style(d, rng))
                target = "%s/%s-%d.md" % (folder, slug[:120].rstrip("-"), rng.randint(2, 9))
                tdate = d.isoformat()
                if rng.random() < 0.015:
                    target = "/en" + target     # ROOT/en exists: the prefix stays
            elif r < 0.85:
                target = "/news/topics/%s.md" % slug
            elif r < 0.95:
                target = "/news/%d/%02d/%s.md" % (rng.randint(2001, 2024), rng.randint(1, 12), slug)
            else:
                target = "/drafts/%s-old.md" % slug
            if target in self.paths:     # practically impossible; keep the model exact
                target = target[:-3] + "-x.md"
        ctx = make_context(rng) if rng.random() < 0.9 else None
        return (title, target, tdate, ctx)

    # -- one file -------------------------------------------------------------------------

    def write_group(self, g):
        body = self.make_body(g.files)
        for v, idx in enumerate(g.files):
            self.write_file(self.files[idx], g, v, body)

    def write_file(self, fm, g, v, body):
        """Write version v of group g (file model fm) and add its rows."""
        rng, sql = self.rng, self.sql
        path = fm.path
        newest = v == len(g.files) - 1
        pfx = "/zh" if fm.zh else ""    # the mirror's links; the rows show them without it
        out = []
        problem = None
        # Newer files open with the Formats line (a paragraph: no rows).
        if fm.newfmt:
            slug = path.rsplit("/", 1)[1][:-3]
            sep = " " if rng.random() < 0.7 else "  "
            out.append("Formats: [HTML](%s.html)%s[JSON](%s.json)%s[XML](%s.xml)\n\n"
                       % (slug, sep, slug, sep, slug))
        # Date heading, spelled like its day folder, padded, or unpadded.
        hdate = fm.date
        if fm.kind == "mismatch":
            hdate = fm.date + datetime.timedelta(days=rng.choice((-3, -2, -1, 1, 2, 3)))
            problem = "date heading %s differs from path" % hdate.isoformat()
        hfolder = self.by_date.get(hdate) or folder_for(hdate, pick_style(hdate, rng))
        day_index = hfolder + "/index.md"
        r = rng.random()
        htext = (date_text(hfolder) if r < 0.6 else hdate.isoformat() if r < 0.95
                 else "%d-%d-%d" % (hdate.year, hdate.month, hdate.day))
        out.append("### [%s](%s%s)\n\n" % (htext, pfx, day_index))
        # Topic heading (newer files).
        if fm.own_topic is not None:
            level = "#####" if rng.random() < 0.9 else rng.choice(("####", "######"))
            out.append("%s %s\n\n" % (level, inline(fm.own_topic, rng, 0.03)))
        # Title and summary.
        if fm.kind == "notitle":
            title = summary = None
            problem = "no title"
        else:
            title = fm.title
            out.append("# %s\n\n" % inline(title, rng, 0.05))
            paras = body["paras"]
            if not newest and len(paras) > 1 and rng.random() < 0.5:
                paras = paras[:1]
            for p in paras:
                out.append(paragraph_md(p, rng))
                out.append("\n\n")
            summary = "\n\n".join(paras) if paras else None
        out.append("\n")
        # Sources.
        src = []
        cover = None
        n_src = 0
        items = body["sources"]
        if items is not None:
            src.append(body["src_heading"] + ("\n\n" if rng.random() < 0.9 else "\n"))
            # Like the seed, a trailing Cover Image item often repeats the previous number.
            cover_last = bool(items) and items[-1][0] == "c" and rng.random() < 0.5
            nums = numbering(len(items), rng, repeat_last=cover_last)
            for num, (typ, it, imgs) in zip(nums, items):
                if typ == "c":
                    src.append("%d. [%s](%s)\n" % (num, it[0], it[1]))
                    if cover is None:
                        cover = it[1]
                else:
                    name, url, dom = it
                    n_src += 1
                    pad = rng.random() < 0.02
                    line = "%d. [%s%s%s](%s)" % (num, " " if pad else "", inline(name, rng),
                                                 " " if pad else "", url)
                    for txt, iurl in imgs:
                        line += " [%s](%s)" % (txt, iurl)
                        if cover is None:
                            cover = iurl
                    src.append(line + "\n")
                    sql.add("exp_sources", path, n_src, name, url, dom)
            src.append("\n")
        # Related (older versions may know fewer related events).
        relmd = []
        rel = body["related"]
        if not newest and rel and rng.random() < 0.4:
            rel = rel[:rng.randrange(len(rel))]
        if rel or body["rel_empty_heading"]:
            relmd.append(body["rel_heading"] + "\n\n")
            for num, (rt, target, tdate, ctx) in zip(numbering(len(rel), rng), rel):
                r = rng.random()
                pre, post = (" ", " ") if r < 0.3 else ("", " ") if r < 0.6 else ("", "")
                href = pfx + target if target.startswith("/news/") else target
                line = "%d. [%s%s%s](%s)" % (num, pre, inline(rt, rng, 0.03), post, href)
                if ctx is not None:
                    line += " _%s%s_" % (rng.choice(ZH_CONTEXT) if fm.zh else "Context: ",
                                         inline(ctx, rng))
                relmd.append(line + "\n")
            for o, (rt, target, tdate, ctx) in enumerate(rel, 1):
                sql.add("exp_related", path, o, rt, target, tdate, ctx)
            relmd.append("\n")
        # Changes: the list the model chose for this file.
        chgmd = []
        chg = fm.chg
        if chg:
            chgmd.append(body["chg_heading"] + "\n\n")
            for o, (num, (target, ct, at, label)) in enumerate(
                    zip(numbering(len(chg), rng), chg), 1):
                ann = "%s (%s)" % (at, label) if at is not None else "(%s)" % label
                chgmd.append("%d. [%s](%s%s) _%s_\n" % (num, inline(ct, rng, 0.03), pfx, target,
                                                        ann))
                sql.add("exp_changes", path, o, ct, target, at, label,
                        1 if label == "Current version" else 0)
            chgmd.append("\n")
        # Newer files mostly put Changes before Related.
        if fm.newfmt and rng.random() < 0.8:
            out += src + chgmd + relmd
        else:
            out += src + relmd + chgmd
        text = "".join(out).rstrip("\n") + "\n"
        if rng.random() < 0.03:
            text = text.replace("\n", "\r\n")
        data = text.encode("utf-8")
        mtime = g.times[v]
        full = self.root + path
        with open(full, "wb") as fh:
            fh.write(data)
        os.utime(full, (mtime, mtime))
        self.sizes.append(len(data))
        sql.add("exp_events", path, fm.date.isoformat(), title, fm.topic, summary, cover,
                day_index, fm.is_current, fm.current_path, n_src, len(rel), len(chg),
                len(data), mtime, problem)


# ---------------------------------------------------------------------------------------
# Day pages and non-event files
# ---------------------------------------------------------------------------------------

EXTRA_MTIME = calendar.timegm((2025, 1, 1, 0, 0, 0))   # mtime of every non-event file


def write_bytes(full, data):
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "wb") as fh:
        fh.write(data)
    os.utime(full, (EXTRA_MTIME, EXTRA_MTIME))


def write_text(full, text):
    write_bytes(full, text.encode("utf-8"))


def event_like(rng):
    """A valid-looking event file for places that must be skipped (dot names, pages)."""
    d = SPAN_START + datetime.timedelta(days=rng.randrange(8000))
    return ("### [%s](%s/index.md)\n\n# %s\n\n### Source:\n\n1. [Reuters](https://www.reuters.com/x)\n"
            % (d.isoformat(), folder_for(d, "pad"), inline(make_title(rng), rng)))


def newer_day_page(folder, dm, prev, rng):
    """README.md (and the newer index.md): Formats line, H2 date link, per event an
    optional H5 topic, an H3 link and maybe a context line and a summary; Previous Day."""
    pfx = "/zh" if dm.zh else ""
    rel = folder[len("/news/"):]
    out = ["Formats: [HTML](%s/index.html)  [JSON](%s/index.json)  [XML](%s/index.xml)\n\n"
           % (rel, rel, rel),
           "## [%s](%s%s/index.md)\n\n" % (date_text(folder), pfx, folder)]
    for p, t, h5 in dm.entries:
        if h5 is not None:
            out.append("##### %s\n\n" % inline(h5, rng))
        pad = " " if rng.random() < 0.7 else ""
        out.append("### [%s%s](%s%s)\n\n" % (inline(t, rng, 0.03), pad, pfx, p))
        if rng.random() < 0.6:
            out.append("_%s%s_\n\n" % (rng.choice(ZH_CONTEXT) if dm.zh else "Context: ",
                                       inline(make_context(rng), rng)))
        if rng.random() < 0.4:
            out.append(paragraph_md(make_paragraph(rng), rng) + "\n\n")
    out.append("## [Previous Day...](%s%s/index.md)\n" % (pfx, prev))
    return "".join(out)


def older_index(folder, d, dm, rng):
    """The older index.md: an H3 date and a numbered list linking every file."""
    pfx = "/zh" if dm.zh else ""
    out = ["### %s\n\n" % (d.isoformat() if rng.random() < 0.7 else date_text(folder))]
    for n, (p, t) in zip(numbering(len(dm.old_links), rng), dm.old_links):
        out.append("%d. [%s](%s%s)\n" % (n, inline(t, rng), pfx, p))
    return "".join(out)


def write_day_pages(root, folders, meta, rng):
    prev = None
    for folder, (d, idxs) in folders.items():
        dm = meta.get(folder)
        if prev is None:
            prev = folder_for(d - datetime.timedelta(days=1), "pad")
        if dm is not None:
            crlf = rng.random() < 0.03
            pages = []
            if dm.entries is not None:
                text = newer_day_page(folder, dm, prev, rng)
                if dm.kind != "newindex":
                    pages.append(("README.md", text))
                if dm.kind in ("readme+index", "newindex"):
                    pages.append(("index.md", text))
            if dm.old_links is not None:
                pages.append(("index.md", older_index(folder, d, dm, rng)))
            for name, text in pages:
                write_text(root + folder + "/" + name,
                           text.replace("\n", "\r\n") if crlf else text)
        prev = folder


def write_extras(root, files, folders, meta, rng):
    """Day pages and the non-event files that must not produce rows."""
    write_day_pages(root, folders, meta, rng)
    used = [f for f, (d, idxs) in folders.items() if idxs]
    # Per-day clutter: dot files, notes, images (each kind at least once).
    for kind in ("draft", "notes", "jpg"):
        picks = [f for f in used if rng.random() < 0.02] or used[:1]
        for f in picks:
            if kind == "draft":
                write_text(root + f + "/.draft.md", event_like(rng))
            elif kind == "notes":
                write_text(root + f + "/notes.txt", "Check sources again.\n1. [x](/y.md)\n")
            else:
                write_bytes(root + f + "/cover.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
                            + bytes(rng.randrange(256) for _ in range(64)))
    # Pages at the root and outside the day folders: day-page names, so no rows (some
    # look like event files; some link event files of other folders).
    some = [files[i] for i in range(0, len(files), max(1, len(files) // 5))][:5]
    links = "".join("### [%s](%s)\n\n" % (inline(f.title, rng), f.path) for f in some)
    write_text(root + "/README.md", "# Current events\n\n## [News](/news/README.md)\n\n"
               "### [Opinion](/opinion/README.md)\n\n" + links)
    write_text(root + "/index.md", "# News archive\n\n1. [News](/news/index.md)\n")
    write_text(root + "/news/README.md", "Formats: [HTML](index.html)\n\n## News\n\n" + links)
    write_text(root + "/news/index.md", "# News\n")
    write_text(root + "/opinion/README.md",
               "# Opinion\n\n1. [A page](/opinion/some-page/README.md)\n")
    write_text(root + "/opinion/some-page/README.md", event_like(rng))
    write_text(root + "/opinion/another-page/Readme.md", event_like(rng))
    write_text(root + "/opinion/a-third-page/INDEX.md", event_like(rng))
    write_text(root + "/en/README.md", "# English edition\n\n### [News](/en/news/README.md)\n")
    if used:
        month = used[0].rsplit("/", 1)[0]           # /news/YYYY/MM: a month folder
        write_text(root + month + "/readme.md", "## Month\n\n" + links)
        write_text(root + month.rsplit("/", 1)[0] + "/index.md", "## Year\n\n" + links)
    write_text(root + "/notes.txt", "Archive notes.\n")
    write_text(root + "/.git/HEAD", "ref: refs/heads/main\n")
    write_text(root + "/.git/objects/info/packed.md", event_like(rng))
    write_text(root + "/.git/hooks/README.md", event_like(rng))
    write_text(root + "/news/.trash/2015/01/01/deleted-event.md", event_like(rng))
    write_text(root + "/news/2014/.hidden/old.md", event_like(rng))


# ---------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="Generate an eventmd test archive and its expected rows.")
    ap.add_argument("--out", required=True, help="output folder (archive/ and expected.sql go here)")
    ap.add_argument("--files", type=int, required=True, help="number of event files")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = ap.parse_args(argv)
    if args.files < 0:
        ap.error("--files must be >= 0")
    root = os.path.join(os.path.abspath(args.out), "archive")
    if os.path.exists(root) and os.listdir(root):
        ap.error("%s exists and is not empty; remove it first" % root)
    os.makedirs(root, exist_ok=True)

    t0 = time.time()
    rng = random.Random(args.seed)
    files, folders, by_date = make_plan(args.files, rng)
    meta = make_model(files, folders, random.Random(args.seed * 15485863 + 3))
    for f in set(os.path.dirname(root + fm.path) for fm in files):
        os.makedirs(f, exist_ok=True)
    sql = SqlOut(os.path.join(os.path.abspath(args.out), "expected.sql"))
    w = Writer(root, files, folders, by_date, sql, random.Random(args.seed * 7919 + 1))
    seen = set()
    for fm in files:
        g = fm.group
        if id(g) not in seen:
            seen.add(id(g))
            w.write_group(g)
    sql.close()
    write_extras(root, files, folders, meta, random.Random(args.seed * 104729 + 2))
    sizes = sorted(w.sizes) or [0]
    print("gen_corpus: %d event files in %d day folders, median size %d B, %.1fs -> %s"
          % (len(files), sum(1 for v in folders.values() if v[1]), sizes[len(sizes) // 2],
             time.time() - t0, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
