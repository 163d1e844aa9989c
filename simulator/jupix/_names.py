"""Word lists for British-looking synthetic people, companies, streets and notes.

Invented for the generator, with no data downloaded: the names are common ones, the
postcode areas are real but every postcode is made up, and every e-mail address and URL
is on a reserved `example` domain.
"""

from __future__ import annotations

__all__ = [
    "AREAS",
    "DOMAINS",
    "FEMALE_FORENAMES",
    "FEMALE_TITLES",
    "FORENAMES",
    "LOCALITIES",
    "MAINTENANCE_NOTES",
    "MALE_FORENAMES",
    "MALE_TITLES",
    "MILESTONES",
    "NEUTRAL_TITLES",
    "PROPERTY_NOTES",
    "SALE_CHAIN_NOTES",
    "STREET_NAMES",
    "STREET_SUFFIXES",
    "SUPPLIER_TRADES",
    "SURNAMES",
    "TODO_NOTES",
]

MALE_FORENAMES = (
    "Oliver", "George", "Harry", "Jack", "Jacob", "Noah", "Charlie", "Muhammad", "Thomas",
    "Oscar", "William", "James", "Leo", "Alfie", "Henry", "Joshua", "Freddie", "Archie",
    "Ethan", "Isaac", "Alexander", "Joseph", "Edward", "Samuel", "Max", "Daniel", "Arthur",
    "Lucas", "Mohammed", "Dylan", "Rhys", "Owen", "Callum", "Declan", "Ravi", "Sanjay",
    "Wei", "Łukasz", "José", "Chidi", "Kwame", "Iestyn",
)  # fmt: skip

FEMALE_FORENAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Isabella", "Mia", "Poppy", "Ella", "Lily",
    "Jessica", "Sophie", "Grace", "Evie", "Ruby", "Charlotte", "Freya", "Chloe", "Daisy",
    "Phoebe", "Florence", "Alice", "Sienna", "Matilda", "Harriet", "Megan", "Siân", "Zoë",
    "Niamh", "Aoife", "Priya", "Aisha", "Fatima", "Anya", "Chiamaka", "Ngozi", "Agnieszka",
    "Chloé", "Eilidh", "Ffion", "Catrin",
)  # fmt: skip

FORENAMES = MALE_FORENAMES + FEMALE_FORENAMES

SURNAMES = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Patel", "Khan", "Lewis", "James", "Phillips", "Mason",
    "Mitchell", "Rose", "Davis", "Rodríguez", "Cox", "Alexander", "Morgan", "Moore", "Mills",
    "King", "Cooper", "Hughes", "Edwards", "Turner", "Hill", "Baker", "Harris", "Martin",
    "Ward", "Morris", "Scott", "Begum", "Ali", "Hussain", "Shah", "Singh", "Kaur", "Nguyen",
    "Kowalski", "Nowak", "O'Brien", "O'Connor", "McDonald", "MacLeod", "Fitzgerald",
    "Smith-Jones", "Ellis-Bextor", "ap Rhys", "Ní Bhriain", "Okafor", "Adeyemi", "Mensah",
    "Campbell", "Stewart", "Murray", "Reid", "Fraser", "Lloyd", "Price", "Bennett", "Gray",
)  # fmt: skip

MALE_TITLES = ("Mr", "Mr", "Mr", "Dr", "")
FEMALE_TITLES = ("Mrs", "Ms", "Miss", "Mrs", "Dr", "")
NEUTRAL_TITLES = ("Mx", "Dr", "")

STREET_NAMES = (
    "Church", "Station", "Victoria", "Park", "High", "Mill", "Albert", "Manor", "Orchard",
    "Queen's", "King's", "Kingsway", "Springfield", "Chestnut", "Elm", "Oak", "Beech", "Ash",
    "Willow", "Meadow", "Castle", "Bridge", "School", "Windsor", "York", "Richmond", "Grange",
    "Highfield", "Stanley", "Alexandra", "Cromwell", "Nelson", "Wellington", "Marlborough",
    "St John's", "St Mary's", "Chapel", "Market", "North", "South", "West", "East", "Green",
    "Sandy", "Brook", "Fern", "Heather", "Clifton", "Redland", "Cotham", "Belvedere",
)  # fmt: skip

STREET_SUFFIXES = (
    "Road", "Street", "Lane", "Avenue", "Close", "Drive", "Gardens", "Crescent", "Way",
    "Terrace", "Place", "Grove", "Court", "Mews", "Rise", "Walk", "Square", "Hill",
)  # fmt: skip

AREAS = (
    ("BS", "Bristol", "Bristol"),
    ("BA", "Bath", "Somerset"),
    ("M", "Manchester", "Greater Manchester"),
    ("LS", "Leeds", "West Yorkshire"),
    ("B", "Birmingham", "West Midlands"),
    ("NG", "Nottingham", "Nottinghamshire"),
    ("SO", "Southampton", "Hampshire"),
    ("CF", "Cardiff", "South Glamorgan"),
    ("EX", "Exeter", "Devon"),
    ("YO", "York", "North Yorkshire"),
    ("BN", "Brighton", "East Sussex"),
    ("OX", "Oxford", "Oxfordshire"),
    ("CB", "Cambridge", "Cambridgeshire"),
    ("NE", "Newcastle upon Tyne", "Tyne and Wear"),
    ("EH", "Edinburgh", "Midlothian"),
    ("G", "Glasgow", "Lanarkshire"),
    ("L", "Liverpool", "Merseyside"),
    ("S", "Sheffield", "South Yorkshire"),
    ("PL", "Plymouth", "Devon"),
    ("NR", "Norwich", "Norfolk"),
)
"""(postcode area, post town, county)."""

LOCALITIES = (
    "Old Town", "Riverside", "Hillside", "Kingsdown", "Westbury Park", "Southville",
    "Northfield", "Eastville", "Newtown", "Bishopston", "Moorside", "Parkhead", "Abbeydale",
    "Heathfield", "Fairfield", "Woodlands", "Harbourside", "St Werburghs", "Upper Town",
)  # fmt: skip

DOMAINS = ("example.com", "example.co.uk", "example.org", "example.net")

SUPPLIER_TRADES = (
    ("Plumber", "Plumbing & Heating"),
    ("Electrician", "Electrical Services"),
    ("Gas Engineer", "Gas Services"),
    ("Locksmith", "Locksmiths"),
    ("Roofer", "Roofing"),
    ("Cleaner", "Cleaning Co"),
    ("Gardener", "Garden Care"),
    ("Handyman", "Property Maintenance"),
    ("Decorator", "Painting & Decorating"),
    ("Glazier", "Glazing"),
    ("Pest Control", "Pest Control"),
)
"""(supplierTrade, company name suffix)."""

MILESTONES = (
    "Memorandum of Sale Issued",
    "Buyer's Solicitor Instructed",
    "Seller's Solicitor Instructed",
    "Draft Contract Issued",
    "Searches Ordered",
    "Searches Received",
    "Mortgage Valuation Booked",
    "Mortgage Offer Received",
    "Enquiries Raised",
    "Enquiries Answered",
    "Exchange",
    "Completion",
)
"""Jupix's fixed progression milestones, in order."""

PROPERTY_NOTES = (
    "Viewing feedback: liked the garden, kitchen \"a bit tired\".",
    "Vendor called, happy to consider offers over £{price}.",
    "Keys held in office, key ref K{n}.",
    "EPC booked for {date}.",
    "Photos retaken, new floor plan uploaded.",
    "Price reduction agreed with owner.\nNew price to go live on portals Monday.",
    "Landlord asked about rent review, call back next week.",
    "Neighbour dispute over boundary fence, see file.",
    "Gas safety certificate renewed, copy on file.",
    "Tenant reports slow drain in bathroom; plumber, {trade}, informed.",
)  # fmt: skip

MAINTENANCE_NOTES = (
    "Boiler serviced; next service due in 12 months.",
    "Damp reported in rear bedroom, landlord informed.",
    "Smoke alarms tested, all working.",
    "Broken window latch replaced, invoice £{price}.",
    "Landlord prefers to use own contractors for repairs under £{price}.",
    "Leak under kitchen sink, \"urgent\" per tenant.\nPlumber attending Tuesday.",
    "Annual inspection completed, minor wear and tear.",
    "Landlord approved redecoration of lounge.",
)  # fmt: skip

TODO_NOTES = (
    "Call {name} back about {address}.",
    "Chase references for {address}.",
    "Send renewal letter, {address}.",
    "Book inventory check-out at {address}.",
    "Remind {name}: deposit protection certificate.",
)

SALE_CHAIN_NOTES = (
    "Buyer is chain-free, first-time buyer.",
    "Buyer's sale agreed with another agent, completion expected in 8 weeks.",
    "Top of chain is a probate sale; grant of probate awaited.",
    'Vendor buying a new build, "completion date TBC" by developer.',
    "Chain: buyer → vendor → onward purchase agreed.",
)
