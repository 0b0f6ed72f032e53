"""Merchants: which purchase category a merchant category is, and a Stripe object's merchant.

A card authorization or transaction names its merchant's category by Stripe's slug and by
its merchant category code (MCC). Tide maps either to one of its purchase categories
(``category_for``), which the spend policy asks about like any purchase's; a merchant
category Tide has no purchase category for is declined at the till.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_BY_SLUG: dict[str, str] = {}
for _code, _slugs in {
    "HH-ESS": (
        "furniture_home_furnishings_and_equipment_stores_except_appliances",
        "household_appliance_stores",
        "home_supply_warehouse_stores",
        "hardware_stores",
        "department_stores",
        "discount_stores",
        "variety_stores",
        "miscellaneous_home_furnishing_specialty_stores",
        "drapery_window_covering_and_upholstery_stores",
        "floor_covering_stores",
        "miscellaneous_general_merchandise",
        "lumber_building_materials_stores",
        "catalog_merchant",
        "direct_marketing_catalog_merchant",
        "miscellaneous_specialty_retail",
    ),
    "CLOTH": (
        "family_clothing_stores",
        "childrens_and_infants_wear_stores",
        "shoe_stores",
        "mens_and_boys_clothing_and_accessories_stores",
        "womens_ready_to_wear_stores",
        "mens_womens_clothing_stores",
        "miscellaneous_apparel_and_accessory_shops",
        "sports_apparel_riding_apparel_stores",
        "family_clothing",
    ),
    "FOOD-VCH": (
        "grocery_stores_supermarkets",
        "convenience_stores_and_specialty_markets",
        "bakeries",
        "candy_nut_and_confectionery_stores",
        "dairy_products_stores",
        "miscellaneous_food_stores",
        "eating_places_restaurants",
        "fast_food_restaurants",
        "caterers",
        "freezer_and_locker_meat_provisioners",
    ),
    "TRAVEL": (
        "bus_lines",
        "commuter_transport_and_ferries",
        "passenger_railways",
        "taxicabs_limousines",
        "service_stations",
        "automated_fuel_dispensers",
        "transportation_services",
        "parking_lots_garages",
        "tolls_and_bridge_fees",
    ),
    "ACTIVITY": (
        "recreation_services",
        "amusement_parks_carnivals",
        "aquariums",
        "sporting_recreation_camps",
        "tourist_attractions_and_exhibits",
        "motion_picture_theaters",
        "theatrical_ticket_agencies",
        "bowling_alleys",
        "dance_hall_studios_schools",
        "sporting_goods_stores",
        "hobby_toy_and_game_shops",
        "membership_clubs_sports_recreation_athletic",
    ),
    "LEARN": (
        "book_stores",
        "books_periodicals_and_newspapers",
        "educational_services",
        "schools_and_educational_services",
        "elementary_secondary_schools",
        "colleges_universities",
        "stationery_stores_office_school_supply_stores",
        "stationary_office_supplies_printing_and_writing_paper",
        "child_care_services",
        "art_and_craft_supply_stores",
        "music_stores_musical_instruments_pianos_and_sheet_music",
    ),
    "SEND-EQ": ("orthopedic_goods_prosthetic_devices", "hearing_aids_sales_and_supplies"),
    "SAFETY": ("electrical_parts_and_equipment",),
    "HOUSING": (
        "real_estate_agents_and_managers_rentals",
        "motor_freight_carriers_and_trucking",
        "public_warehousing_and_storage",
        "utilities",
        "truck_utility_trailer_rentals",
        "hotels_motels_and_resorts",
    ),
    "DIGITAL": (
        "electronics_stores",
        "computer_software_stores",
        "computers_peripherals_and_software",
        "telecommunication_services",
        "telecommunication_equipment_and_telephone_sales",
        "camera_and_photographic_supply_stores",
    ),
    "HEALTH": (
        "drug_stores_and_pharmacies",
        "dentists_orthodontists",
        "doctors",
        "medical_services",
        "opticians_eyeglasses",
        "optometrists_ophthalmologist",
        "chiropodists_podiatrists",
        "hospitals",
    ),
    "CASH": (
        "automated_cash_disburse",
        "manual_cash_disburse",
        "financial_institutions",
        "wires_money_orders",
        "non_fi_money_orders",
        "non_fi_stored_value_card_purchase_load",
    ),
    "GAMBLING": (
        "betting_casino_gambling",
        "government_licensed_online_casions_online_gambling_us_region_only",
        "government_owned_lotteries_non_us_region",
        "government_owned_lotteries_us_region_only",
        "government_licensed_horse_dog_racing_us_region_only",
    ),
    "ALCOHOL": ("package_stores_beer_wine_and_liquor", "drinking_places"),
}.items():
    for _slug in _slugs:
        _BY_SLUG[_slug] = _code

#: Merchant category code ranges, for slugs the table above does not name.
_BY_CODE_RANGE: tuple[tuple[int, int, str], ...] = (
    (4000, 4799, "TRAVEL"),
    (4812, 4816, "DIGITAL"),
    (5200, 5399, "HH-ESS"),
    (5411, 5499, "FOOD-VCH"),
    (5541, 5542, "TRAVEL"),
    (5600, 5699, "CLOTH"),
    (5700, 5722, "HH-ESS"),
    (5732, 5735, "DIGITAL"),
    (5811, 5814, "FOOD-VCH"),
    (5912, 5912, "HEALTH"),
    (5921, 5921, "ALCOHOL"),
    (5940, 5949, "ACTIVITY"),
    (6010, 6012, "CASH"),
    (7800, 7999, "ACTIVITY"),
    (8000, 8099, "HEALTH"),
    (8200, 8299, "LEARN"),
    (8351, 8351, "LEARN"),
)


def category_for(slug: str | None, code: str | None) -> str | None:
    """The purchase category of a merchant category (Stripe's slug, else its MCC), or ``None``
    when Tide has no purchase category for it (the authorization is declined)."""
    if slug and slug in _BY_SLUG:
        return _BY_SLUG[slug]
    if code and code.isdigit():
        number = int(code)
        for low, high, category in _BY_CODE_RANGE:
            if low <= number <= high:
                return category
    return None


def merchant_of(obj: Mapping[str, Any]) -> tuple[str, str, str | None]:
    """(merchant name, Stripe's category slug, Tide's purchase category or ``None``)."""
    merchant = obj.get("merchant_data") or {}
    slug = str(merchant.get("category") or "")
    name = str(merchant.get("name") or "Unknown merchant")
    return name, slug, category_for(slug, str(merchant.get("category_code") or ""))
