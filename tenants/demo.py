"""Realistic demo people: names from many cultures, so that a fragment such as `son` matches many and a rare one few."""

from __future__ import annotations

import random
import unicodedata

FIRST_NAMES = [
    "Emma", "Liam", "Olivia", "Noah", "Sofia", "Mateo", "Aisha", "Omar", "Yuki", "Haruto", "Mei", "Wei",
    "Priya", "Arjun", "Fatima", "Ahmed", "Chloé", "Lucas", "Zoë", "Björn", "Ingrid", "Sven", "Anya", "Dmitri",
    "Olga", "Kwame", "Amara", "Chinedu", "Ngozi", "Thandiwe", "Sipho", "Lucía", "Diego", "Camila", "João",
    "Beatriz", "Giulia", "Marco", "Hana", "Jae-won", "Min-jun", "Seo-yeon", "Nguyen", "Linh", "Tariq", "Leila",
    "Siobhán", "Declan", "Eilidh", "Ewan", "Kai", "Leilani", "Tane", "Aroha", "Mihai", "Ioana", "Zsófia", "Bence",
]  # fmt: skip
LAST_NAMES = [
    "Johnson", "Anderson", "Robinson", "Jackson", "Williamson", "Thompson", "Peterson", "Larsson", "Svensson",
    "Eriksson", "Nilsson", "Davidson", "Garcia", "Martínez", "Rodríguez", "Fernández", "Silva", "Santos",
    "Rossi", "Bianchi", "Müller", "Schmidt", "Schneider", "Dubois", "Lefèvre", "Moreau", "Kowalski", "Nowak",
    "Ivanova", "Petrov", "Tanaka", "Suzuki", "Sato", "Kim", "Park", "Lee", "Chen", "Wang", "Zhang", "Li",
    "Nguyen", "Tran", "Patel", "Sharma", "Singh", "Khan", "Haddad", "Nasser", "Okafor", "Adeyemi", "Mensah",
    "Dlamini", "Nkosi", "O'Brien", "MacLeod", "Kealoha", "Ngata", "Popescu", "Nagy", "Yılmaz", "Öztürk",
]  # fmt: skip
JOB_TITLES = [
    "Software Engineer", "Product Manager", "Designer", "Data Analyst", "Account Executive", "Support Specialist",
    "Engineering Manager", "Recruiter", "Finance Lead", "Marketing Manager", "Operations Coordinator", "",
]  # fmt: skip


def ascii_slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def people(count: int, domain: str, seed: int = 360):
    """`count` deterministic people: the same arguments give the same people (so seeding is idempotent)."""
    rng = random.Random(seed)
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        yield {
            "email": f"{ascii_slug(first)}.{ascii_slug(last)}.{index}@{domain}",
            "first_name": first,
            "last_name": last,
            "job_title": rng.choice(JOB_TITLES),
        }
