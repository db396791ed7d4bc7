"""The documented intent set, which kinds each intent belongs to, and how the public data
sets' labels map onto it (used by scripts/train_triage.py and bench/triage.py).

Intent         Kind(s)          Meaning
-------------  ---------------  ----------------------------------------------------------
delivery       care             where is my order/parcel/card, delivery times and options
order_change   care             change an order or its delivery address
cancellation   care             cancel an order, booking, subscription, transfer or account
refund         care             money back: request, status, policy
billing        care             charges, invoices, fees, failed/pending/declined payments
account_access care             log-in, password, PIN, verification, locked account
account_management care         create/edit/switch account, personal details, newsletter
technical_problem  care         app/site/network/device not working, outage, bug
delay          care             late or cancelled flights, trains, appointments
lost_or_damaged    care         lost, stolen, broken or damaged items, luggage, cards
fraud_security care             unrecognised payments, hacked or compromised accounts
safety         care             injury, fire, gas leak, food poisoning, dangerous products
complaint_about_staff care      rude or unhelpful staff, drivers, crew
complaint      care             general dissatisfaction with the product or service
contact_request care            wants a human, a phone number, a call back
product_question care, sales    how something works, what is supported, policies
pricing        sales, care      prices, plans, fees and discounts asked before buying
purchase       sales            wants to buy, order, book or sign up; availability, stock
praise         engagement       thanks, compliments
feedback       engagement       suggestions, reviews, wishes
spam           noise            ads, scams, follow-for-follow, self-promotion
other          any              none of the above (small talk, unrelated, unknown)
"""

from __future__ import annotations

from collections.abc import Mapping

INTENT_KINDS: Mapping[str, frozenset[str]] = {
    "delivery": frozenset({"care"}),
    "order_change": frozenset({"care"}),
    "cancellation": frozenset({"care"}),
    "refund": frozenset({"care"}),
    "billing": frozenset({"care"}),
    "account_access": frozenset({"care"}),
    "account_management": frozenset({"care"}),
    "technical_problem": frozenset({"care"}),
    "delay": frozenset({"care"}),
    "lost_or_damaged": frozenset({"care"}),
    "fraud_security": frozenset({"care"}),
    "safety": frozenset({"care"}),
    "complaint_about_staff": frozenset({"care"}),
    "complaint": frozenset({"care"}),
    "contact_request": frozenset({"care"}),
    "product_question": frozenset({"care", "sales"}),
    "pricing": frozenset({"sales", "care"}),
    "purchase": frozenset({"sales"}),
    "praise": frozenset({"engagement"}),
    "feedback": frozenset({"engagement", "care"}),
    "spam": frozenset({"noise"}),
    "other": frozenset({"care", "sales", "engagement", "noise"}),
}

INTENTS: tuple[str, ...] = tuple(INTENT_KINDS)
KINDS: tuple[str, ...] = ("care", "sales", "engagement", "noise")
SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")

AIRLINE_REASON_INTENT: Mapping[str, str] = {
    "Late Flight": "delay",
    "Cancelled Flight": "delay",
    "Lost Luggage": "lost_or_damaged",
    "Damaged Luggage": "lost_or_damaged",
    "Flight Attendant Complaints": "complaint_about_staff",
    "Customer Service Issue": "complaint",
    "Bad Flight": "complaint",
    "longlines": "complaint",
}

BITEXT_INTENT: Mapping[str, str] = {
    "cancel_order": "cancellation", "change_order": "order_change",
    "change_shipping_address": "order_change", "check_cancellation_fee": "billing",
    "check_invoice": "billing", "check_payment_methods": "billing",
    "check_refund_policy": "refund", "complaint": "complaint",
    "contact_customer_service": "contact_request", "contact_human_agent": "contact_request",
    "create_account": "account_management", "delete_account": "cancellation",
    "delivery_options": "delivery", "delivery_period": "delivery",
    "edit_account": "account_management", "get_invoice": "billing", "get_refund": "refund",
    "newsletter_subscription": "account_management", "payment_issue": "billing",
    "place_order": "purchase", "recover_password": "account_access",
    "registration_problems": "account_access", "review": "feedback",
    "set_up_shipping_address": "account_management", "switch_account": "account_management",
    "track_order": "delivery", "track_refund": "refund",
}  # fmt: skip

BITEXT_KIND: Mapping[str, str] = {
    k: ("sales" if v == "purchase" else "engagement" if v == "feedback" else "care")
    for k, v in BITEXT_INTENT.items()
}

_B = {
    "delivery": "card_arrival card_delivery_estimate",
    "account_management": "card_linking edit_personal_details",
    "pricing": "exchange_rate top_up_by_bank_transfer_charge exchange_charge "
    "top_up_by_card_charge cash_withdrawal_charge",
    "billing": "card_payment_wrong_exchange_rate extra_charge_on_statement "
    "pending_cash_withdrawal pending_top_up wrong_amount_of_cash_received "
    "card_payment_fee_charged transfer_not_received_by_recipient top_up_reverted "
    "balance_not_updated_after_cheque_or_cash_deposit declined_cash_withdrawal "
    "pending_card_payment declined_transfer declined_card_payment pending_transfer "
    "transaction_charged_twice reverted_card_payment? beneficiary_not_allowed "
    "transfer_fee_charged failed_transfer wrong_exchange_rate_for_cash_withdrawal "
    "top_up_failed balance_not_updated_after_bank_transfer",
    "product_question": "fiat_currency_support automatic_top_up exchange_via_app age_limit "
    "top_up_limits supported_cards_and_currencies getting_virtual_card card_acceptance "
    "get_physical_card visa_or_mastercard topping_up_by_card disposable_card_limits "
    "atm_support transfer_timing receiving_money transfer_into_account getting_spare_card "
    "top_up_by_cash_or_cheque order_physical_card get_disposable_virtual_card "
    "activate_my_card card_about_to_expire apple_pay_or_google_pay country_support",
    "technical_problem": "card_not_working contactless_not_working virtual_card_not_working",
    "lost_or_damaged": "lost_or_stolen_card lost_or_stolen_phone card_swallowed",
    "account_access": "pin_blocked why_verify_identity unable_to_verify_identity "
    "passcode_forgotten verify_source_of_funds change_pin verify_top_up verify_my_identity",
    "cancellation": "cancel_transfer terminate_account",
    "fraud_security": "card_payment_not_recognised compromised_card "
    "direct_debit_payment_not_recognised cash_withdrawal_not_recognised",
    "refund": "request_refund Refund_not_showing_up",
}
BANKING77_INTENT: Mapping[str, str] = {
    label: intent for intent, labels in _B.items() for label in labels.split()
}

_CLINC: Mapping[str, tuple[str, str]] = {
    "report_fraud": ("care", "fraud_security"), "freeze_account": ("care", "fraud_security"),
    "report_lost_card": ("care", "lost_or_damaged"), "damaged_card": ("care", "lost_or_damaged"),
    "lost_luggage": ("care", "lost_or_damaged"), "card_declined": ("care", "billing"),
    "bill_due": ("care", "billing"), "pay_bill": ("care", "billing"),
    "min_payment": ("care", "billing"), "bill_balance": ("care", "billing"),
    "account_blocked": ("care", "account_access"), "pin_change": ("care", "account_access"),
    "replacement_card_duration": ("care", "delivery"), "order_status": ("care", "delivery"),
    "flight_status": ("care", "delay"), "cancel_reservation": ("care", "cancellation"),
    "apr": ("care", "pricing"), "interest_rate": ("care", "pricing"),
    "international_fees": ("care", "pricing"), "carry_on": ("care", "product_question"),
    "new_card": ("care", "product_question"), "application_status": ("care", "product_question"),
    "credit_limit": ("care", "product_question"), "redeem_rewards": ("care", "product_question"),
    "book_flight": ("sales", "purchase"), "book_hotel": ("sales", "purchase"),
    "car_rental": ("sales", "purchase"), "order": ("sales", "purchase"),
    "restaurant_reservation": ("sales", "purchase"), "accept_reservations": ("sales", "purchase"),
    "thank_you": ("engagement", "praise"), "greeting": ("engagement", "other"),
    "goodbye": ("engagement", "other"), "tell_joke": ("engagement", "other"),
    "fun_fact": ("engagement", "other"), "are_you_a_bot": ("engagement", "other"),
}  # fmt: skip


def clinc_label(label: str) -> tuple[str, str]:
    """(kind, intent) for a CLINC150 label; assistant chores unrelated to a brand are noise."""
    return _CLINC.get(label, ("noise", "other"))
