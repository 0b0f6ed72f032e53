"""Devon County Council's published procurement-card transactions (2014-2017, Open Government
Licence v3.0), read as card payments: merchant, merchant category and amount in pence;
negative amounts are refunds. The council's category names are mapped to Stripe's merchant
category slugs and codes."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

DATA = Path(os.environ.get("TIDE_DEVON_DATA", Path(__file__).resolve().parents[1] / "data"))
FOLDER = DATA / "devon-card-spend-2014-2017"

#: The council's category name → (Stripe's slug, MCC). Anything else: general merchandise.
CATEGORIES: dict[str, tuple[str, str]] = {
    "Grocery stores": ("grocery_stores_supermarkets", "5411"),
    "Book stores": ("book_stores", "5942"),
    "Miscellaneous retail": ("miscellaneous_specialty_retail", "5999"),
    "Direct sales companies": ("direct_marketing_catalog_merchant", "5964"),
    "Passenger railways": ("passenger_railways", "4112"),
    "Timber & building supplies": ("lumber_building_materials_stores", "5211"),
    "Record shops": ("record_stores", "5735"),
    "Discount stores": ("discount_stores", "5310"),
    "Government services": ("government_services", "9399"),
    "Electronics shops": ("electronics_stores", "5732"),
    "Stationery & office supplies stores": ("stationery_stores_office_and_school_supply_stores", "5943"),
    "Stationery & office supplies": ("stationary_office_supplies_printing_and_writing_paper", "5111"),
    "Art & craft shops": ("artists_supply_and_craft_shops", "5970"),
    "Continuous subscriptions": ("direct_marketing_subscription", "5968"),
    "Postal services": ("postal_services_government_only", "9402"),
    "Misc business services": ("miscellaneous_business_services", "7399"),
    "Phone services": ("telecommunication_services", "4814"),
    "Computer software stores": ("computer_software_stores", "5734"),
    "Publishing & printing services": ("miscellaneous_publishing_and_printing", "2741"),
    "Charitable organisations": ("charitable_and_social_service_organizations_fundraising", "8398"),
    "Computer network information services": ("computer_network_services", "4816"),
    "Theatres and ticket agencies": ("theatrical_ticket_agencies", "7922"),
    "Consultants & public relation services": ("consulting_public_relations", "7392"),
    "Gift, card & novelty shops": ("gift_card_novelty_and_souvenir_shops", "5947"),
    "Insurance sales, underwritering, premiums": ("insurance_underwriting_premiums", "6300"),
    "Music stores & instruments": ("music_stores_musical_instruments_pianos_and_sheet_music", "5733"),
    "Electrical parts & equipment": ("electrical_parts_and_equipment", "5065"),
    "Travel agencies": ("travel_agencies_tour_operators", "4722"),
    "Florists": ("florists", "5992"),
    "Catalogue sales": ("direct_marketing_catalog_merchant", "5964"),
    "Lawn & garden supply/nursery": ("nurseries_lawn_and_garden_supply_stores", "5261"),
    "Computers, peripherals & software": ("computers_peripherals_and_software", "5045"),
    "Children/infants shops": ("childrens_and_infants_wear_stores", "5641"),
    "Family clothing shops": ("family_clothing_stores", "5651"),
    "Shoe shops": ("shoe_stores", "5661"),
    "Chemists & pharmacies": ("drug_stores_and_pharmacies", "5912"),
    "Off Licenses / alcohol sales": ("package_stores_beer_wine_and_liquor", "5921"),
    "Bars, taverns, pubs & nightclubs": ("drinking_places", "5813"),
    "Financial institutions": ("financial_institutions", "6012"),
    "Buses, charter & tour": ("bus_lines", "4131"),
    "Hotels, motels & resorts": ("hotels_motels_and_resorts", "7011"),
    "Household appliance stores": ("household_appliance_stores", "5722"),
    "Hardware stores": ("hardware_stores", "5251"),
    "Sporting goods shops": ("sporting_goods_stores", "5941"),
    "Department stores": ("department_stores", "5311"),
    "Restaurants": ("eating_places_restaurants", "5812"),
    "Hobby, toy & game shops": ("hobby_toy_and_game_shops", "5945"),
    "Service stations": ("service_stations", "5541"),
    "Furniture & home furnishing": ("furniture_home_furnishings_and_equipment_stores_except_appliances", "5712"),
    "Tourist attractions and exhibitions": ("tourist_attractions_and_exhibits", "7991"),
    "Cinemas": ("motion_picture_theaters", "7832"),
    "Caterers": ("caterers", "5811"),
    "Schools": ("elementary_secondary_schools", "8211"),
    "Colleges & universities": ("colleges_universities", "8220"),
}
OTHER = ("miscellaneous_general_merchandise", "5399")


@dataclass(frozen=True, slots=True)
class Payment:
    merchant: str
    category: str
    category_code: str
    amount: int  # pence; negative for a refund


def payments() -> Iterator[Payment]:
    """Every row with an amount, file by file in date order."""
    for path in sorted(FOLDER.glob("*.csv")):
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            for row in csv.DictReader(handle):
                raw = (row.get("Amount") or "").replace(",", "").replace("£", "").strip()
                try:
                    pence = int((Decimal(raw) * 100).to_integral_value())
                except InvalidOperation:
                    continue
                if pence == 0:
                    continue
                slug, code = CATEGORIES.get((row.get("Merchant Category") or "").strip(), OTHER)
                merchant = (row.get("Benificiary (Merchant)") or "Unknown").strip()[:22] or "Unknown"
                yield Payment(merchant=merchant, category=slug, category_code=code, amount=pence)


def sample(every: int = 80) -> list[Payment]:
    """Every ``every``-th payment: a spread over the three years."""
    return [p for i, p in enumerate(payments()) if i % every == 0]
