"""British-looking names, streets, towns, postcodes and contact details, made up from tables.

Nothing here can reach a real person: email domains end in ``.example`` (reserved by
RFC 2606) and phone numbers come from the ranges Ofcom keeps for drama (07700 900xxx,
0113 496 0xxx and the like). Real town names are kept so that addresses look right.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from simulator.agency._rand import Table

# fmt: off
FEMALE = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily",
    "Sophie", "Grace", "Freya", "Charlotte", "Evie", "Jessica", "Chloe", "Ruby", "Sophia",
    "Daisy", "Alice", "Phoebe", "Florence", "Matilda", "Hannah", "Lucy", "Sarah", "Emma", "Laura",
    "Rebecca", "Rachel", "Claire", "Helen", "Karen", "Susan", "Julie", "Nicola", "Joanne",
    "Michelle", "Louise", "Gemma", "Kirsty", "Siobhan", "Megan", "Niamh", "Priya", "Aisha",
    "Fatima", "Zainab", "Agnieszka", "Zoë", "Siân", "Renée", "Bethan", "Ffion",
)
MALE = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Thomas", "Oscar", "William",
    "James", "Henry", "Leo", "Alfie", "Joshua", "Freddie", "Archie", "Ethan", "Isaac",
    "Alexander", "Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur", "Lucas", "Mohammed",
    "Theo", "Harrison", "Benjamin", "Mason", "Finley", "Adam", "Dylan", "Riley", "Lewis", "David",
    "John", "Michael", "Paul", "Andrew", "Mark", "Richard", "Peter", "Stephen", "Christopher",
    "Robert", "Ian", "Gary", "Simon", "Matthew", "Craig", "Kevin", "Neil", "Gareth", "Rhys",
    "Callum", "Ravi", "Arjun", "Kwame", "Tomasz", "Ahmed", "Seán", "Eoghan", "Dafydd",
)
SURNAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood", "Turner",
    "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King", "Baker",
    "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis", "Parker",
    "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter", "Richardson",
    "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards", "Khan",
    "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson", "Foster",
    "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hunt", "Hussain", "Campbell",
    "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd", "Butler",
    "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon", "Harvey", "Graham",
    "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "Gibson", "Howard", "Andrews", "Stewart",
    "Elliott", "Reynolds", "Saunders", "Payne", "Fox", "Ford", "Pearce", "Day", "Brooks",
    "O'Brien", "O'Neill", "McCarthy", "McDonald", "Nowak", "Kowalski", "Nguyen", "Okafor",
    "Mensah", "Hartley", "Whitehead", "Lambert", "Greenwood", "Thornton", "Middleton",
    "Armstrong", "Fitzgerald", "Ashworth",
)
_STEMS = (
    "High", "Church", "Station", "Mill", "Victoria", "Queen's", "King's", "Park", "London",
    "Manor", "Chapel", "Green", "North", "South", "West", "East", "Albert", "Grove", "Oak", "Elm",
    "Beech", "Willow", "Cedar", "Ash", "Meadow", "Orchard", "Bridge", "Castle", "Abbey",
    "Springfield", "Windsor", "York", "Clarence", "Princess", "Westfield", "Highfield", "Moor",
    "Hill", "Cross", "Market", "New", "Old", "School", "Mount", "Albion", "Brook", "Fairfield",
    "Stanley", "Hollybank", "Spring", "Cemetery", "Wellington", "Nelson", "Grange", "Vicarage",
    "Cavendish", "Beaconsfield", "Rosebery", "Cardigan", "Headingley", "Belmont", "Derwent",
)
_SUFFIXES: Table[tuple[str, str]] = Table([
    (("Road", "Rd"), 25), (("Street", "St"), 20), (("Lane", "Ln"), 10), (("Avenue", "Ave"), 8),
    (("Close", "Cl"), 7), (("Crescent", "Cres"), 5), (("Drive", "Dr"), 6), (("Way", "Wy"), 3),
    (("Grove", "Gr"), 4), (("Place", "Pl"), 3), (("Terrace", "Terr"), 4), (("Court", "Ct"), 2),
    (("Gardens", "Gdns"), 4), (("Mews", "Mws"), 1), (("Square", "Sq"), 1), (("Walk", "Wlk"), 1),
])
_HOUSE_NAMES = (
    "Rose Cottage", "Ivy Cottage", "The Old Rectory", "The Coach House", "Orchard House",
    "Meadow View", "Hillside", "The Laurels", "The Willows", "Oak Lodge", "Fern Bank",
    "The Old School House", "Holly Cottage", "Brook House", "Mill House", "The Barn",
)
_BUILDINGS = (
    "Albion House", "Victoria Court", "Riverside Apartments", "The Maltings", "Canal Wharf",
    "Kingsley Court", "Regent House", "Clarence Mansions", "Imperial Buildings", "Park View",
    "St George's House", "Waterside", "Granary Wharf", "Centenary Plaza",
)
# Ofcom's drama ranges: the fixed part of each number, to which three digits are added.
_MOBILE = "07700 900"
_LANDLINES = ("020 7946 0", "0113 496 0", "0114 496 0", "0115 496 0", "0116 496 0", "0117 496 0",
              "0118 496 0", "0121 496 0", "0131 496 0", "0141 496 0", "0151 496 0", "0161 496 0",
              "0191 498 0", "029 2018 0", "028 9649 6", "01632 960")
_DOMAINS: Table[str] = Table([
    ("mailbox.example", 30), ("inbox.example", 25), ("post.example", 15),
    ("homemail.example", 15), ("webmail.example", 10), ("letterbox.example", 5),
])
_COMPANY_WORDS = ("Property", "Estates", "Lettings", "Holdings", "Homes", "Investments")
# fmt: on


@dataclass(frozen=True, slots=True)
class Town:
    """A post town: county, postcode areas, highest district number, localities."""

    name: str
    county: str
    areas: tuple[str, ...]
    districts: int
    localities: tuple[str, ...] = ()


def _towns() -> Table[Town]:
    # fmt: off
    big = [
        (Town("London", "Greater London", ("SW", "SE", "N", "E", "NW"), 20,
              ("Clapham", "Brixton", "Islington", "Hackney", "Camden", "Balham", "Peckham")), 14),
        (Town("Manchester", "Greater Manchester", ("M",), 40,
              ("Didsbury", "Chorlton", "Withington", "Ancoats", "Fallowfield")), 7),
        (Town("Leeds", "West Yorkshire", ("LS",), 29,
              ("Headingley", "Chapel Allerton", "Roundhay", "Horsforth", "Armley")), 7),
        (Town("Birmingham", "West Midlands", ("B",), 99, ("Edgbaston", "Moseley", "Harborne")), 7),
        (Town("Bristol", "Bristol", ("BS",), 16, ("Clifton", "Redland", "Bedminster")), 5),
        (Town("Sheffield", "South Yorkshire", ("S",), 36, ("Crookes", "Ecclesall", "Walkley")), 4),
        (Town("Glasgow", "Lanarkshire", ("G",), 53, ("Partick", "Hillhead", "Shawlands")), 4),
        (Town("Edinburgh", "Midlothian", ("EH",), 17, ("Leith", "Morningside", "Stockbridge")), 4),
        (Town("Liverpool", "Merseyside", ("L",), 38, ("Wavertree", "Aigburth", "Allerton")), 4),
        (Town("Newcastle upon Tyne", "Tyne and Wear", ("NE",), 15, ("Jesmond", "Heaton")), 3),
        (Town("Nottingham", "Nottinghamshire", ("NG",), 17, ("West Bridgford", "Sherwood")), 3),
        (Town("Cardiff", "South Glamorgan", ("CF",), 24, ("Canton", "Roath", "Cathays")), 3),
        (Town("Belfast", "County Antrim", ("BT",), 17, ("Stranmillis", "Ormeau")), 2),
    ]
    small = [
        ("York", "North Yorkshire", "YO", 32), ("Harrogate", "North Yorkshire", "HG", 5),
        ("Oxford", "Oxfordshire", "OX", 4), ("Cambridge", "Cambridgeshire", "CB", 5),
        ("Brighton", "East Sussex", "BN", 3), ("Exeter", "Devon", "EX", 6),
        ("Norwich", "Norfolk", "NR", 14), ("Bath", "Somerset", "BA", 2),
        ("Chester", "Cheshire", "CH", 4), ("Durham", "County Durham", "DH", 7),
        ("Canterbury", "Kent", "CT", 4), ("Guildford", "Surrey", "GU", 5),
        ("Milton Keynes", "Buckinghamshire", "MK", 19), ("Northampton", "Northants", "NN", 7),
        ("Lincoln", "Lincolnshire", "LN", 6), ("Ipswich", "Suffolk", "IP", 10),
        ("Colchester", "Essex", "CO", 7), ("Derby", "Derbyshire", "DE", 24),
        ("Hull", "East Riding of Yorkshire", "HU", 9), ("Bradford", "West Yorkshire", "BD", 15),
        ("Huddersfield", "West Yorkshire", "HD", 8), ("Stockport", "Greater Manchester", "SK", 8),
        ("Preston", "Lancashire", "PR", 5), ("Coventry", "West Midlands", "CV", 6),
        ("Reading", "Berkshire", "RG", 31), ("Leicester", "Leicestershire", "LE", 19),
    ]
    # fmt: on
    return Table(big + [(Town(n, c, (a,), d), 1.0) for n, c, a, d in small])


TOWNS = _towns()
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters Royal Mail uses in a postcode's last part


@dataclass(frozen=True, slots=True)
class Address:
    """A UK address in Alto's parts; `short_street` is the street with its suffix abbreviated."""

    sub_dwelling: str | None
    name_no: str
    street: str
    short_street: str
    locality: str | None
    town: str
    county: str
    postcode: str

    def alto(self) -> dict[str, str | None]:
        """The address as Alto holds it."""
        return {
            "subDwelling": self.sub_dwelling,
            "nameNo": self.name_no,
            "street": self.street,
            "locality": self.locality,
            "town": self.town,
            "county": self.county,
            "postcode": self.postcode,
            "countryCode": "GB",
        }

    def line1(self) -> str:
        """Sub-dwelling, name or number and street joined by single spaces, empty parts left out."""
        return " ".join(part for part in (self.sub_dwelling, self.name_no, self.street) if part)

    def fixflo(self, line1: str | None = None) -> dict[str, str | None]:
        """The address as the integration writes it to Fixflo (or with another first line)."""
        return {
            "AddressLine1": line1 or self.line1(),
            "AddressLine2": self.locality,
            "Town": self.town,
            "County": self.county,
            "PostCode": self.postcode,
            "Country": "GB",
        }


def make_address(rng: random.Random, *, commercial: bool = False) -> Address:
    """A believable address in a weighted choice of UK towns."""
    town = TOWNS.pick(rng)
    stem, (suffix, short) = rng.choice(_STEMS), _SUFFIXES.pick(rng)
    sub_dwelling, name_no = _dwelling(rng, commercial)
    local = town.localities and rng.random() < 0.45
    return Address(
        sub_dwelling=sub_dwelling,
        name_no=name_no,
        street=f"{stem} {suffix}",
        short_street=f"{stem} {short}",
        locality=rng.choice(town.localities) if local else _nothing(rng),
        town=town.name,
        county=town.county,
        postcode=make_postcode(rng, town),
    )


def _dwelling(rng: random.Random, commercial: bool) -> tuple[str | None, str]:
    roll = rng.random()
    number = str(rng.randint(1, 240))
    if roll < 0.28:
        unit = "Unit" if commercial else rng.choice(("Flat", "Flat", "Flat", "Apartment"))
        building = rng.choice(_BUILDINGS) if rng.random() < 0.35 else number
        return f"{unit} {rng.randint(1, 40)}", building
    if roll < 0.36 and not commercial:
        return _nothing(rng), rng.choice(_HOUSE_NAMES)
    return _nothing(rng), number + ("A" if roll > 0.97 else "")


def _nothing(rng: random.Random) -> str | None:
    """An absent part: mostly null, sometimes the empty string (Alto has both)."""
    return "" if rng.random() < 0.1 else None


def make_postcode(rng: random.Random, town: Town) -> str:
    """A postcode of the town's form, e.g. ``LS6 2AB``."""
    area = rng.choice(town.areas)
    unit = rng.choice(_UNIT_LETTERS) + rng.choice(_UNIT_LETTERS)
    return f"{area}{rng.randint(1, town.districts)} {rng.randint(1, 9)}{unit}"


def make_phone(rng: random.Random, *, mobile: bool) -> str:
    """A number from Ofcom's drama ranges, in one of the ways people type them."""
    number = (_MOBILE if mobile else rng.choice(_LANDLINES)) + f"{rng.randrange(1000):03d}"
    roll = rng.random()
    if roll < 0.08:
        return number.replace(" ", "")
    if roll < 0.12:
        return "+44 " + number[1:]
    return number


def make_email(rng: random.Random, forename: str, surname: str, number: int) -> str:
    """A unique address: the owner's `number` is part of it."""
    first, last = slug(forename), slug(surname)
    local = rng.choice(
        (
            f"{first}.{last}{number}",
            f"{first[:1]}{last}{number}",
            f"{last}.{first}{number}",
            f"{first}{number}",
        )
    )
    return f"{local}@{_DOMAINS.pick(rng)}"


def make_company(rng: random.Random, surname: str) -> str:
    """A landlord company's name."""
    base = surname if rng.random() < 0.6 else rng.choice(_STEMS)
    return f"{base} {rng.choice(_COMPANY_WORDS)} Ltd"


@lru_cache(maxsize=2048)
def slug(text: str) -> str:
    """Lower-case ASCII letters and digits of `text` (accents dropped)."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(char for char in plain.lower() if char.isalnum())


def pick_title(rng: random.Random, female: bool) -> str:
    """A title for a man or a woman, now and then a doctor or Mx."""
    roll = rng.random()
    if roll < 0.04:
        return "Dr"
    if roll < 0.05:
        return "Mx"
    return rng.choice(("Mrs", "Mrs", "Ms", "Miss")) if female else "Mr"
