"""The synthetic demo batch: generated images, short videos and text posts, with pretend labels.

Everything here is synthetic — gradients, shapes, noise and big on-screen text — tagged with
*pretend* content-warning categories, so the app can be shown and tested without any real
harmful media::

    folder = generate_demo_batch(Path("demo-batch"))      # ~60 cases, deterministic per seed
    ws.guidelines.import_pack(DEMO_PACK)
    ws.batches.import_batch(folder)

About a quarter of the frontline decisions are deliberately wrong (over-enforcement,
under-enforcement, wrong policy); each case's ``metadata["demo_truth"]`` holds the label the
demo intends as correct, and the wrong ones say how they are wrong in ``metadata["demo_note"]``.

:func:`add_demo_calibration` then holds a finished calibration session on five DE violence
cases (votes of three fictional participants, some split, discussion notes, the local
reviewer's rulings), so a lead can promote gold and build a quiz from the demo at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .core.api import VerdictDraft, resources_dir
from .core.workspace import Workspace

DEMO_PACK: Path = resources_dir() / "guidelines" / "demo-global-1.0.0.json"
"""The fictional guideline pack the demo batch is decided against."""

DEMO_PACKS: list[Path] = [
    resources_dir() / "guidelines" / name
    for name in (
        "demo-global-1.0.0.json",
        "demo-global-1.1.0.json",
        "demo-fr-1.0.0.json",
        "demo-de-1.0.0.json",
    )
]
"""Every demo pack file in load order: global versions first, then the market overlays."""

DEMO_BATCH_ID = "demo-batch-1"
PACK_REF = {"id": "demo-global", "version": "1.0.0"}

IMAGE_COUNT = 30
VIDEO_COUNT = 12
TEXT_COUNT = 20
WRONG_SHARE = 0.25
SEVERE_SHARE = 0.15
VIDEO_SIZE = (1280, 720)
VIDEO_FPS = 24

MARKETS = (("DE", "de"), ("FR", "fr"), ("BR", "pt"), ("ID", "id"))
MODERATORS = tuple(f"m-{i:03d}" for i in range(1, 9))
QUEUES = {
    "image": ("proactive-image", "user-report", "trusted-flagger"),
    "video": ("proactive-video", "user-report"),
    "text": ("user-report", "proactive-text", "appeals"),
}
LABEL_POLICY = {
    "no_violation": "NONE",
    "vh_remove": "VH",
    "vh_age_restrict": "VH",
    "hs_remove": "HS",
    "an_remove": "AN",
    "an_age_restrict": "AN",
    "hb_remove": "HB",
    "sh_remove": "SH",
    "sp_reduce": "SP",
}
"""The demo pack's labels, in key order, and the policy each enforces."""

SEVERE_TRUTHS = ("vh_remove", "hs_remove", "an_remove", "sh_remove")
WRONG_KINDS = ("over-enforcement", "under-enforcement", "wrong policy")
DECISIONS_FROM = datetime(2026, 9, 1, tzinfo=UTC)
DECISIONS_SPAN_S = 61 * 24 * 3600  # September and October 2026: before the demo was written
CREATED_AT = "2026-11-02T09:00:00Z"

DEMO_SESSION = "Demo calibration: DE violence"
DEMO_PARTICIPANTS = ("Ana Lima", "Bo Berg", "Cy Tan")
DEMO_RULINGS: dict[str, tuple[str, str, tuple[str, str, str], str]] = {
    "demo-009": (
        "VH-3.1",
        "vh_age_restrict",
        ("vh_age_restrict", "vh_remove", "vh_age_restrict"),
        "News footage of violence: age-restrict it; removing it hides reporting the public needs.",
    ),
    "demo-019": (
        "VH-3.1",
        "vh_age_restrict",
        ("no_violation", "vh_age_restrict", "no_violation"),
        "A breaking-news post about clashes with injuries is news context: age-restrict it"
        " (VH-3.1); 'no violation' leaves the injuries ungated.",
    ),
    "demo-044": (
        "VH-3.2",
        "no_violation",
        ("vh_remove", "no_violation", "no_violation"),
        "Video-game violence is staged (VH-3.2): no violation; the frontline removal was"
        " over-enforcement.",
    ),
    "demo-053": ("VH-1.1", "vh_remove", ("vh_remove", "vh_remove", "vh_remove"), ""),
    "demo-059": (
        "VH-2.1",
        "vh_age_restrict",
        ("vh_age_restrict", "vh_remove", "vh_remove"),
        "Blood and an open wound, nothing worse: age-restrict under VH-2.1; removal is for"
        " dismemberment (VH-2.3).",
    ),
}
"""The demo session's cases (all market DE, policy VH): the section the ruling cites, the
ruling, the three votes, a discussion note."""

# Image sizes: (width, height, extension). Two full-size camera JPEGs, then a mix.
LARGE_IMAGES = ((4000, 3000, "jpg"), (4000, 3000, "jpg"))
IMAGE_SIZES = (
    (1280, 720, "jpg"),
    (1080, 1920, "jpg"),
    (800, 800, "png"),
    (1920, 1080, "jpg"),
    (1280, 720, "png"),
    (1080, 1350, "jpg"),
    (640, 480, "png"),
)

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Scenario:
    """A pretend kind of content: what the demo says it is and how it should be decided."""

    key: str
    pretend: str
    truth: str
    tags: tuple[str, ...]
    content_types: tuple[str, ...]
    palette: tuple[RGB, RGB]
    captions: dict[str, str]
    over: str | None = None
    under: str | None = None
    wrong_policy: str | None = None

    def wrong_label(self, kind: str) -> str | None:
        """The label a frontline moderator would have taken to be wrong in this way."""
        return {
            "over-enforcement": self.over,
            "under-enforcement": self.under,
            "wrong policy": self.wrong_policy,
        }[kind]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "graphic_injury",
        "graphic injury",
        "vh_remove",
        ("violence", "graphic"),
        ("image", "video"),
        ((150, 20, 30), (40, 0, 10)),
        {
            "de": "Fiktiver Unfallort in Glimmerstadt – Aufnahme mit schweren Verletzungen.",
            "fr": "Scène d'accident fictive à Clairval – blessures graves visibles.",
            "pt": "Cena fictícia de acidente em Vila Aurora – ferimentos graves à mostra.",
            "id": "Adegan kecelakaan fiktif di Kota Pelangi – luka parah terlihat.",
        },
        under="vh_age_restrict",
        wrong_policy="sh_remove",
    ),
    Scenario(
        "open_wounds",
        "blood and open wounds",
        "vh_age_restrict",
        ("violence", "graphic"),
        ("image", "video"),
        ((200, 60, 40), (90, 20, 20)),
        {
            "de": "Nach dem (erfundenen) Straßenfest: Platzwunde, alles halb so wild.",
            "fr": "Après la fête (inventée) du quartier : une vilaine coupure.",
            "pt": "Depois da festa (inventada) do bairro: um corte feio no braço.",
            "id": "Setelah pesta (rekaan) kampung: luka robek di lengan.",
        },
        over="vh_remove",
        under="no_violation",
        wrong_policy="an_age_restrict",
    ),
    Scenario(
        "news_conflict",
        "news report on a conflict",
        "vh_age_restrict",
        ("violence", "news"),
        ("image", "video", "text"),
        ((120, 100, 70), (40, 35, 30)),
        {
            "de": "Eilmeldung (fiktiv): Zusammenstöße im Grenzland Nordavia, mehrere Verletzte.",
            "fr": "Flash info (fictif) : affrontements en Nordavie, plusieurs blessés.",
            "pt": "Urgente (fictício): confrontos na Nordávia deixam vários feridos.",
            "id": "Berita kilat (fiktif): bentrokan di Nordavia, beberapa orang terluka.",
        },
        over="vh_remove",
        under="no_violation",
        wrong_policy="hs_remove",
    ),
    Scenario(
        "game_violence",
        "video-game violence",
        "no_violation",
        ("violence", "fiction"),
        ("image", "video"),
        ((40, 180, 220), (90, 30, 160)),
        {
            "de": "Neuer Bosskampf in »Sternenklinge 3« – wer schafft ihn ohne Heiltrank?",
            "fr": "Nouveau boss dans « Lame Stellaire 3 » – qui le bat sans potion ?",
            "pt": 'Chefão novo em "Lâmina Estelar 3" – quem vence sem poção?',
            "id": 'Bos baru di "Pedang Bintang 3" – siapa bisa menang tanpa ramuan?',
        },
        over="vh_remove",
    ),
    Scenario(
        "threat",
        "threat of violence",
        "vh_remove",
        ("violence",),
        ("text",),
        ((90, 0, 0), (20, 20, 20)),
        {
            "de": "@karl_demo wenn ich dich morgen am Bahnhof sehe, wirst du es bereuen.",
            "fr": "@lucie_demo si je te croise demain à la gare, tu vas le regretter.",
            "pt": "@rafa_demo se eu te encontrar amanhã na estação, você vai se arrepender.",
            "id": "@budi_demo kalau besok ketemu kamu di stasiun, kamu bakal menyesal.",
        },
        under="no_violation",
        wrong_policy="hb_remove",
    ),
    Scenario(
        "hate_attack",
        "hateful attack on a made-up group",
        "hs_remove",
        ("hate",),
        ("text", "image"),
        ((110, 40, 140), (30, 10, 40)),
        {
            "de": "Die Zorbianer sind Ungeziefer und haben in unserer Stadt nichts verloren.",
            "fr": "Les Zorbiens sont de la vermine, ils n'ont rien à faire chez nous.",
            "pt": "Os zorbianos são uma praga e não deviam morar na nossa cidade.",
            "id": "Orang Zorbia itu hama, mereka tidak pantas tinggal di kota kita.",
        },
        under="no_violation",
        wrong_policy="hb_remove",
    ),
    Scenario(
        "counter_speech",
        "counter-speech",
        "no_violation",
        ("hate",),
        ("text", "image"),
        ((60, 120, 200), (230, 230, 240)),
        {
            "de": "Heute stand an der Wand „Zorbianer raus“. Nicht mit uns – wir malen drüber.",
            "fr": "On a tagué « Zorbiens dehors » sur le mur. Pas chez nous : on repeint.",
            "pt": 'Picharam "fora zorbianos" no muro. Aqui não – vamos pintar por cima.',
            "id": 'Ada coretan "usir orang Zorbia" di tembok. Tidak di sini – kami cat ulang.',
        },
        over="hs_remove",
    ),
    Scenario(
        "explicit",
        "explicit nudity",
        "an_remove",
        ("nudity",),
        ("image", "video"),
        ((230, 120, 150), (120, 40, 70)),
        {
            "de": "Nur für Erwachsene, 18+ (fiktives Profil, unzensiert).",
            "fr": "Réservé aux adultes, 18+ (profil fictif, non censuré).",
            "pt": "Só para maiores de 18 (perfil fictício, sem censura).",
            "id": "Khusus dewasa, 18+ (profil fiktif, tanpa sensor).",
        },
        under="an_age_restrict",
        wrong_policy="hb_remove",
    ),
    Scenario(
        "suggestive",
        "suggestive pose",
        "an_age_restrict",
        ("nudity",),
        ("image", "video"),
        ((250, 170, 140), (160, 80, 90)),
        {
            "de": "Neues Shooting am (erfundenen) Sonnensee – heiß genug? 😏",
            "fr": "Nouveau shooting au lac (inventé) du Soleil – assez chaud ? 😏",
            "pt": "Ensaio novo no lago (inventado) do Sol – quente o bastante? 😏",
            "id": "Pemotretan baru di Danau Surya (rekaan) – cukup panas? 😏",
        },
        over="an_remove",
        under="no_violation",
        wrong_policy="vh_age_restrict",
    ),
    Scenario(
        "sculpture",
        "classical sculpture",
        "no_violation",
        ("nudity", "art"),
        ("image",),
        ((220, 210, 190), (120, 110, 100)),
        {
            "de": "Marmorstatue im (fiktiven) Museum von Altbrück, 2. Jahrhundert.",
            "fr": "Statue de marbre au musée (fictif) de Vieux-Pont, IIe siècle.",
            "pt": "Estátua de mármore no museu (fictício) de Ponte Velha, século II.",
            "id": "Patung marmer di museum (fiktif) Jembatan Tua, abad ke-2.",
        },
        over="an_remove",
    ),
    Scenario(
        "insult",
        "insults aimed at a classmate",
        "hb_remove",
        ("harassment",),
        ("text", "image"),
        ((240, 140, 20), (60, 40, 10)),
        {
            "de": "Schaut euch Mira K. aus der 9b an 😂 so hässlich, niemand mag sie.",
            "fr": "Regardez Léa M. de la 3e B 😂 trop moche, personne ne l'aime.",
            "pt": "Olha a Bia S. do 9º ano 😂 feia demais, ninguém gosta dela.",
            "id": "Lihat si Sari dari kelas 9B 😂 jelek banget, nggak ada yang suka.",
        },
        under="no_violation",
        wrong_policy="hs_remove",
    ),
    Scenario(
        "doxxing",
        "shared home address",
        "hb_remove",
        ("harassment",),
        ("text",),
        ((200, 200, 60), (50, 50, 20)),
        {
            "de": "Der Typ wohnt Demostraße 12, 3. Stock. Besucht ihn mal alle.",
            "fr": "Il habite 12 rue de la Démo, 3e étage. Allez tous lui rendre visite.",
            "pt": "Ele mora na Rua Demo, 12, 3º andar. Todo mundo lá fazer uma visita.",
            "id": "Dia tinggal di Jalan Demo No. 12, lantai 3. Ayo semua datangi.",
        },
        under="no_violation",
        wrong_policy="sp_reduce",
    ),
    Scenario(
        "public_figure",
        "satire of a politician",
        "no_violation",
        ("harassment", "satire"),
        ("text", "image"),
        ((30, 150, 90), (200, 240, 210)),
        {
            "de": "Bürgermeister Dreyfeld (fiktiv) nennt den Stau Verkehrsberuhigung. Genial.",
            "fr": "Le maire Dufresnois (fictif) appelle les bouchons « apaisement ». Génial.",
            "pt": 'O prefeito Tavarelli (fictício) chama o engarrafamento de "calma". Gênio.',
            "id": 'Wali kota Darmono (fiktif) menyebut macet sebagai "penenangan". Jenius.',
        },
        over="hb_remove",
    ),
    Scenario(
        "self_harm",
        "self-harm imagery",
        "sh_remove",
        ("self-harm", "graphic"),
        ("image", "video"),
        ((60, 60, 120), (10, 10, 30)),
        {
            "de": "(fiktiv) niemand versteht mich. bild sagt alles.",
            "fr": "(fictif) personne ne me comprend. la photo dit tout.",
            "pt": "(fictício) ninguém me entende. a foto diz tudo.",
            "id": "(fiktif) nggak ada yang ngerti aku. fotonya udah jelas.",
        },
        under="no_violation",
        wrong_policy="vh_remove",
    ),
    Scenario(
        "recovery",
        "recovery story",
        "no_violation",
        ("self-harm",),
        ("text", "video"),
        ((120, 200, 230), (250, 220, 150)),
        {
            "de": "Ein Jahr ohne Rückfall. Wer gerade kämpft: Hilfe holen ist Stärke. ❤",
            "fr": "Un an sans rechute. Si tu luttes : demander de l'aide, c'est du courage. ❤",
            "pt": "Um ano sem recaída. Se você está lutando: pedir ajuda é força. ❤",
            "id": "Setahun tanpa kambuh. Kalau kamu sedang berjuang: minta tolong itu kuat. ❤",
        },
        over="sh_remove",
    ),
    Scenario(
        "bulk_spam",
        "bulk spam",
        "sp_reduce",
        ("spam",),
        ("text", "image"),
        ((20, 220, 120), (250, 250, 60)),
        {
            "de": "$$$ 100 € am Tag von zu Hause!! Link in Bio!! $$$ #reich #schnell",
            "fr": "$$$ 100 € par jour depuis chez toi !! Lien en bio !! $$$ #riche",
            "pt": "$$$ R$ 500 por dia em casa!! Link na bio!! $$$ #dinheiro #rapido",
            "id": "$$$ Rp1 juta per hari dari rumah!! Link di bio!! $$$ #kaya #cepat",
        },
        over="hb_remove",
        under="no_violation",
        wrong_policy="an_remove",
    ),
    Scenario(
        "fake_giveaway",
        "fake giveaway",
        "sp_reduce",
        ("spam",),
        ("text", "image", "video"),
        ((250, 200, 0), (200, 30, 120)),
        {
            "de": "GEWINNSPIEL: Kommentiere JA und teile, um ein Demo-Phone X zu gewinnen!",
            "fr": "CONCOURS : commente OUI et partage pour gagner un Démo-Phone X !",
            "pt": "SORTEIO: comente SIM e compartilhe para ganhar um Demo-Phone X!",
            "id": "GIVEAWAY: komen YA dan bagikan untuk menangkan Demo-Phone X!",
        },
        under="no_violation",
        wrong_policy="hb_remove",
    ),
    Scenario(
        "holiday",
        "holiday snapshot",
        "no_violation",
        (),
        ("image", "video", "text"),
        ((250, 180, 60), (40, 140, 220)),
        {
            "de": "Sonnenuntergang am (erfundenen) Kap Morgenrot. Urlaub! ☀",
            "fr": "Coucher de soleil au cap (inventé) de l'Aurore. Vacances ! ☀",
            "pt": "Pôr do sol no cabo (inventado) da Aurora. Férias! ☀",
            "id": "Matahari terbenam di Tanjung Fajar (rekaan). Liburan! ☀",
        },
        over="sp_reduce",
    ),
)


@dataclass(frozen=True)
class PlannedCase:
    """One case of the demo batch, decided before any media is drawn."""

    number: int
    content_type: str
    scenario: Scenario
    market: str
    language: str
    media_name: str
    size: tuple[int, int]
    scenes: int
    video_number: int
    severe: bool
    wrong_kind: str | None
    label: str
    moderator: str
    queue: str
    decided_at: str

    @property
    def case_id(self) -> str:
        """The case id, e.g. ``demo-012``."""
        return f"demo-{self.number:03d}"


def generate_demo_batch(target: Path, seed: int = 7, video_seconds: float = 3.0) -> Path:
    """Write the synthetic demo batch folder at ``target`` and return it.

    ``target`` gets ``batch.json``, ``cases.jsonl`` and ``media/`` (images and ~3 s 720p
    videos); its earlier demo files are overwritten. The same ``seed`` gives the same cases.
    """
    media = target / "media"
    media.mkdir(parents=True, exist_ok=True)
    remove_old_demo_media(media)
    plan = plan_cases(seed)
    for case in plan:
        write_case_media(media, case, seed, video_seconds)
    write_header(target)
    with (target / "cases.jsonl").open("w", encoding="utf-8", newline="\n") as out:
        for case in plan:
            out.write(json.dumps(case_record(case, video_seconds), ensure_ascii=False) + "\n")
    return target


def add_demo_calibration(ws: Workspace) -> str | None:
    """Add the demo's finished calibration session (see :data:`DEMO_RULINGS`) with the local
    reviewer as arbiter; its id, or None when it is there already.

    The session is local: its votes and rulings never leave this laptop. The local reviewer
    rules here whatever their key may sign, so any laptop shows a finished session, and a
    reviewer's sync sends no ruling a lead's app would refuse (only a lead's key signs one).
    """
    if any(s.name == DEMO_SESSION for s in ws.calibration.sessions()):
        return None
    session = ws.calibration.create(
        DEMO_SESSION, cases=list(DEMO_RULINGS), participants=list(DEMO_PARTICIPANTS), local=True
    )
    for case_id, (section, ruling, votes, note) in DEMO_RULINGS.items():
        for who, vote in zip(DEMO_PARTICIPANTS, votes, strict=True):
            ws.calibration.vote(session.id, case_id, who, vote)
        ws.calibration.reveal(session.id, case_id)
        if note:
            ws.calibration.note(session.id, case_id, note)
        cited = (ws.verdicts.citation(case_id, section),)
        ws.calibration.rule(session.id, case_id, VerdictDraft(ruling, cited))
    return session.id


# -- planning ----------------------------------------------------------------------------


def plan_cases(seed: int) -> list[PlannedCase]:
    """Decide every case (type, scenario, market, decision) from ``seed``, in queue order."""
    rng = np.random.default_rng(seed)
    types = content_type_order(rng)
    scenarios = assign_scenarios(types, rng)
    markets = assign_markets(types, rng)
    wrong = assign_wrong_kinds(scenarios, rng)
    severe = pick_severe(scenarios, rng)
    image_sizes = iter(image_size_plan(rng))
    plan: list[PlannedCase] = []
    videos = 0
    for i, (content_type, scenario) in enumerate(zip(types, scenarios, strict=True)):
        number = i + 1
        size, scenes, video_number, name = (0, 0), 0, 0, ""
        if content_type == "image":
            width, height, ext = next(image_sizes)
            size, name = (width, height), f"demo-{number:03d}.{ext}"
        elif content_type == "video":
            videos += 1
            size, scenes, video_number = VIDEO_SIZE, 2 + videos % 3, videos
            name = f"demo-{number:03d}.mp4"
        kind = wrong.get(i)
        plan.append(
            PlannedCase(
                number=number,
                content_type=content_type,
                scenario=scenario,
                market=markets[i][0],
                language=markets[i][1],
                media_name=name,
                size=size,
                scenes=scenes,
                video_number=video_number,
                severe=i in severe,
                wrong_kind=kind,
                label=decision_label(scenario, kind),
                moderator=MODERATORS[int(rng.integers(len(MODERATORS)))],
                queue=str(rng.choice(QUEUES[content_type])),
                decided_at=decision_time(rng),
            )
        )
    return plan


def content_type_order(rng: np.random.Generator) -> list[str]:
    """The content type of each case, shuffled, with an image first (the app opens on it)."""
    types = ["image"] * IMAGE_COUNT + ["video"] * VIDEO_COUNT + ["text"] * TEXT_COUNT
    types = [types[i] for i in rng.permutation(len(types))]
    first_image = types.index("image")
    types[0], types[first_image] = types[first_image], types[0]
    return types


def assign_markets(types: list[str], rng: np.random.Generator) -> list[tuple[str, str]]:
    """A (market, language) for each case, spread evenly over the markets within each type."""
    orders = {t: [int(i) for i in rng.permutation(len(MARKETS))] for t in QUEUES}
    seen = dict.fromkeys(QUEUES, 0)
    markets = []
    for t in types:
        order = orders[t]
        markets.append(MARKETS[order[seen[t] % len(order)]])
        seen[t] += 1
    return markets


def decision_label(scenario: Scenario, wrong_kind: str | None) -> str:
    """The frontline label: the scenario's truth, or the wrong label of ``wrong_kind``."""
    if wrong_kind is None:
        return scenario.truth
    return scenario.wrong_label(wrong_kind) or scenario.truth


def assign_scenarios(types: list[str], rng: np.random.Generator) -> list[Scenario]:
    """A scenario for each case, cycling through those that fit its content type."""
    fitting = {
        t: [s for s in SCENARIOS if t in s.content_types] for t in ("image", "video", "text")
    }
    offsets = {t: int(rng.integers(len(fitting[t]))) for t in fitting}
    seen = dict.fromkeys(fitting, 0)
    chosen = []
    for t in types:
        options = fitting[t]
        chosen.append(options[(seen[t] + offsets[t]) % len(options)])
        seen[t] += 1
    return chosen


def assign_wrong_kinds(scenarios: list[Scenario], rng: np.random.Generator) -> dict[int, str]:
    """Pick a quarter of the cases to be decided wrongly, and how (a mix of kinds)."""
    count = round(len(scenarios) * WRONG_SHARE)
    picked = sorted(int(i) for i in rng.choice(len(scenarios), count, replace=False))
    kinds: dict[int, str] = {}
    for j, i in enumerate(picked):
        wanted = WRONG_KINDS[j % len(WRONG_KINDS)]
        order = [wanted, *(k for k in WRONG_KINDS if k != wanted)]
        kinds[i] = next(k for k in order if scenarios[i].wrong_label(k))
    return kinds


def pick_severe(scenarios: list[Scenario], rng: np.random.Generator) -> set[int]:
    """About 15% of the cases, among those whose content is the most harmful, tagged severe."""
    eligible = [i for i, s in enumerate(scenarios) if s.truth in SEVERE_TRUTHS]
    count = min(len(eligible), round(len(scenarios) * SEVERE_SHARE))
    return {int(i) for i in rng.choice(eligible, count, replace=False)}


def image_size_plan(rng: np.random.Generator) -> list[tuple[int, int, str]]:
    """Sizes and formats of the images, in a shuffled order."""
    sizes = list(LARGE_IMAGES)
    sizes += [IMAGE_SIZES[i % len(IMAGE_SIZES)] for i in range(IMAGE_COUNT - len(sizes))]
    return [sizes[i] for i in rng.permutation(len(sizes))]


def decision_time(rng: np.random.Generator) -> str:
    """An ISO 8601 UTC time in October or November 2026."""
    moment = DECISIONS_FROM + timedelta(seconds=int(rng.integers(DECISIONS_SPAN_S)))
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- records -----------------------------------------------------------------------------


def write_header(target: Path) -> None:
    """Write ``batch.json``."""
    header = {
        "format_version": 1,
        "id": DEMO_BATCH_ID,
        "name": "Synthetic demo batch (pretend content)",
        "issuer": "qa-desktop-demo",
        "market": "global",
        "guideline_pack": PACK_REF,
        "created_at": CREATED_AT,
    }
    text = json.dumps(header, indent=2, ensure_ascii=False) + "\n"
    (target / "batch.json").write_text(text, encoding="utf-8")


def case_record(case: PlannedCase, video_seconds: float) -> dict[str, Any]:
    """The cases.jsonl record of a planned case."""
    tags = list(case.scenario.tags) + (["severe"] if case.severe else [])
    metadata: dict[str, Any] = {
        "synthetic": True,
        "pretend": case.scenario.pretend,
        "demo_truth": case.scenario.truth,
    }
    if case.wrong_kind:
        metadata["demo_note"] = f"deliberately wrong: {case.wrong_kind}"
    if case.content_type != "text":
        metadata.update(width=case.size[0], height=case.size[1])
    if case.content_type == "video":
        frames = video_frame_count(case, video_seconds)
        metadata.update(fps=VIDEO_FPS, frames=frames, scenes=case.scenes)
    return {
        "id": case.case_id,
        "content_type": case.content_type,
        "media": [f"media/{case.media_name}"] if case.media_name else [],
        "text": case.scenario.captions[case.language],
        "market": case.market,
        "language": case.language,
        "tags": tags,
        "metadata": metadata,
        "decision": {
            "label": case.label,
            "policy": LABEL_POLICY[case.label],
            "moderator_id": case.moderator,
            "queue": case.queue,
            "decided_at": case.decided_at,
        },
    }


# -- media -------------------------------------------------------------------------------


def remove_old_demo_media(media: Path) -> None:
    """Delete media files an earlier demo generation left in ``media``."""
    for old in media.glob("demo-*"):
        if old.is_file():
            old.unlink()


def write_case_media(media: Path, case: PlannedCase, seed: int, video_seconds: float) -> None:
    """Draw and write the case's image or video (text posts have none)."""
    rng = np.random.default_rng([seed, case.number])
    if case.content_type == "image":
        write_image(media / case.media_name, demo_image(case, rng))
    elif case.content_type == "video":
        write_video(media / case.media_name, case, video_frame_count(case, video_seconds), rng)


def video_frame_count(case: PlannedCase, video_seconds: float) -> int:
    """How many frames the case's video has: ``video_seconds`` long, at least a frame a scene."""
    return max(case.scenes, round(video_seconds * VIDEO_FPS))


def write_image(path: Path, rgb: np.ndarray) -> None:
    """Write an RGB image as JPEG or PNG, by the file's extension."""
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    if path.suffix == ".png":
        params = [cv2.IMWRITE_PNG_COMPRESSION, 3]
    else:
        params = [cv2.IMWRITE_JPEG_QUALITY, 88]
    if not cv2.imwrite(str(path), bgr, params):
        raise OSError(f"{path}: could not write the demo image")


def demo_image(case: PlannedCase, rng: np.random.Generator) -> np.ndarray:
    """A generated RGB scene: gradient, noise grain, shapes and a big caption."""
    width, height = case.size
    top, bottom = case.scenario.palette
    img = gradient(width, height, top, bottom)
    add_grain(img, rng, amplitude=28)
    draw_shapes(img, rng, count=14)
    draw_checker(img, rng)
    lines = [
        f"SYNTHETIC DEMO CASE {case.number}",
        f"pretend: {case.scenario.pretend}",
        f"{case.market} | {width}x{height} | not real content",
    ]
    return draw_caption(img, lines)


def write_video(path: Path, case: PlannedCase, frames: int, rng: np.random.Generator) -> None:
    """Write a 720p mp4v video of ``case.scenes`` distinct scenes with moving shapes."""
    width, height = case.size
    fourcc = cv2.VideoWriter_fourcc(*"mp4v")  # type: ignore[attr-defined]
    writer = cv2.VideoWriter(str(path), fourcc, VIDEO_FPS, (width, height))
    if not writer.isOpened():
        raise OSError(f"{path}: could not open a video writer (mp4v)")
    try:
        scene_starts = [frames * s // case.scenes for s in range(case.scenes)] + [frames]
        for scene in range(case.scenes):
            background, text, mask = video_scene(case, scene, rng)
            length = scene_starts[scene + 1] - scene_starts[scene]
            for f in range(length):
                writer.write(video_frame(background, text, mask, scene, f / max(1, length)))
    finally:
        writer.release()


def video_scene(
    case: PlannedCase, scene: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A scene's still background and its caption layer (BGR) with the caption's mask.

    Scenes alternate light and dark and rotate the hue, so consecutive scenes differ clearly.
    """
    width, height = case.size
    top, bottom = (rotate_hue(c, scene * 360 // case.scenes) for c in case.scenario.palette)
    if scene % 2:
        top, bottom = darken(bottom), darken(top)
    img = gradient(width, height, top, bottom)
    add_grain(img, rng, amplitude=18)
    draw_shapes(img, rng, count=6 + 3 * scene)
    lines = [
        f"DEMO VIDEO {case.video_number:02d} - scene {scene + 1}",
        f"pretend: {case.scenario.pretend}",
    ]
    captioned = draw_caption(img.copy(), lines)
    mask = np.any(captioned != img, axis=2, keepdims=True)
    return (
        cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
        cv2.cvtColor(captioned, cv2.COLOR_RGB2BGR),
        np.repeat(mask, 3, axis=2),
    )


def video_frame(
    background: np.ndarray, text: np.ndarray, mask: np.ndarray, scene: int, t: float
) -> np.ndarray:
    """One frame: the scene's background, shapes moving with ``t`` (0..1), then the caption."""
    frame = background.copy()
    height, width = frame.shape[:2]
    x = int(width * (0.1 + 0.8 * t))
    y = int(height * (0.5 + 0.3 * np.sin(2 * np.pi * t + scene)))
    radius = height // 8
    if scene % 2:
        corner, opposite = (x - radius, y - radius), (x + radius, y + radius)
        cv2.rectangle(frame, corner, opposite, (255, 255, 255), -1)
    else:
        cv2.circle(frame, (x, y), radius, (255, 255, 255), -1, cv2.LINE_AA)
    x2 = width - x
    cv2.circle(frame, (x2, height // 4), radius // 2, (0, 0, 0), -1, cv2.LINE_AA)
    np.copyto(frame, text, where=mask)
    return frame


# -- drawing -----------------------------------------------------------------------------


def gradient(width: int, height: int, top: RGB, bottom: RGB) -> np.ndarray:
    """A diagonal RGB gradient from ``top`` (top left) to ``bottom`` (bottom right)."""
    small_w, small_h = max(2, width // 16), max(2, height // 16)
    ys = np.linspace(0.0, 1.0, small_h, dtype=np.float32)[:, None]
    xs = np.linspace(0.0, 1.0, small_w, dtype=np.float32)[None, :]
    t = ((ys + xs) / 2)[..., None]
    small = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return cv2.resize(small.astype(np.uint8), (width, height), interpolation=cv2.INTER_LINEAR)


def add_grain(img: np.ndarray, rng: np.random.Generator, amplitude: int) -> None:
    """Add coarse monochrome noise in place (fine detail that blur visibly removes)."""
    height, width = img.shape[:2]
    grain = rng.integers(0, amplitude, (max(1, height // 2), max(1, width // 2)), dtype=np.uint8)
    full = cv2.resize(grain, (width, height), interpolation=cv2.INTER_NEAREST)
    for channel in range(3):
        img[..., channel] = cv2.add(img[..., channel], full)


def draw_shapes(img: np.ndarray, rng: np.random.Generator, count: int) -> None:
    """Draw random filled and outlined circles, rectangles and triangles in place."""
    height, width = img.shape[:2]
    scale = min(width, height)
    for _ in range(count):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        size = int(scale * rng.uniform(0.04, 0.18))
        thickness = -1 if rng.random() < 0.5 else max(2, scale // 150)
        kind = int(rng.integers(3))
        if kind == 0:
            cv2.circle(img, (x, y), size, color, thickness, cv2.LINE_AA)
        elif kind == 1:
            cv2.rectangle(img, (x, y), (x + size, y + int(size * 0.7)), color, thickness)
        else:
            points = np.array([[x, y - size], [x - size, y + size], [x + size, y + size]])
            if thickness < 0:
                cv2.fillPoly(img, [points], color, cv2.LINE_AA)
            else:
                cv2.polylines(img, [points], True, color, thickness, cv2.LINE_AA)


def draw_checker(img: np.ndarray, rng: np.random.Generator) -> None:
    """Draw a small black-and-white checkerboard patch: sharp edges to tell blur by."""
    height, width = img.shape[:2]
    cell = max(4, min(width, height) // 60)
    cells = 8
    x0 = int(rng.integers(0, max(1, width - cell * cells)))
    y0 = int(rng.integers(0, max(1, height - cell * cells)))
    for r in range(cells):
        for c in range(cells):
            shade = 255 if (r + c) % 2 else 0
            y, x = y0 + r * cell, x0 + c * cell
            img[y : y + cell, x : x + cell] = shade


def draw_caption(img: np.ndarray, lines: list[str]) -> np.ndarray:
    """Return ``img`` with ``lines`` written big across its middle, white on a dark outline.

    The first line is the headline; each line is as big as fits in 90% of the width.
    """
    height, width = img.shape[:2]
    canvas = Image.fromarray(img)
    draw = ImageDraw.Draw(canvas)
    headline = max(12, min(width, height) // 7)
    sizes = [
        fitting_size(line, headline if i == 0 else headline * 3 // 5, width * 0.9)
        for i, line in enumerate(lines)
    ]
    y = (height - int(sum(sizes) * 1.25)) // 2
    for line, size in zip(lines, sizes, strict=True):
        draw.text(
            (width // 2, y),
            line,
            font=caption_font(size),
            fill=(255, 255, 255),
            anchor="mt",
            stroke_width=max(2, size // 14),
            stroke_fill=(0, 0, 0),
        )
        y += int(size * 1.25)
    return np.asarray(canvas).copy()


def fitting_size(line: str, size: int, max_width: float) -> int:
    """``size``, or smaller so that ``line`` is no wider than ``max_width`` pixels."""
    length = caption_font(size).getlength(line)
    if length > max_width:
        size = int(size * max_width / length)
    return max(10, size)


@lru_cache(maxsize=256)
def caption_font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """Pillow's bundled font at ``size`` pixels."""
    return ImageFont.load_default(size=size)


def rotate_hue(color: RGB, degrees: int) -> RGB:
    """``color`` with its hue turned by ``degrees``."""
    pixel = np.array([[color]], np.uint8)
    hsv = cv2.cvtColor(pixel, cv2.COLOR_RGB2HSV_FULL).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + degrees * 256 // 360) % 256
    hsv[..., 1] = np.maximum(hsv[..., 1], 120)
    rgb = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB_FULL)[0, 0]
    return int(rgb[0]), int(rgb[1]), int(rgb[2])


def darken(color: RGB) -> RGB:
    """``color`` at a third of its brightness."""
    return color[0] // 3, color[1] // 3, color[2] // 3
