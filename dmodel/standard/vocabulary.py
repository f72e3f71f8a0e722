"""The CRM standard's vocabulary: the names sources use for its tables, columns, stages and enum values.

Weights run from 0 to 1 and measure how strongly a name alone points at the
target: the standard's own name is 1.0 (tables) or 0.9 (columns, which
still need their values to agree), a vendor's usual name 0.8 to 0.9, a
name that often means something else 0.5 to 0.7. Names are compared in
snake_case (``Deal Stage`` -> ``deal_stage``) and, for stage values, in a
compact form of lowercase letters and digits only (``Closed Won`` ->
``closedwon``).
"""

from __future__ import annotations

# Words that name each CRM table of client records, singular, with weights.
TABLE_SYNONYMS: dict[str, dict[str, float]] = {
    "customers": {"customer": 1.0, "client": 0.9, "account": 0.9, "company": 0.85, "organization": 0.85,
                  "organisation": 0.85, "org": 0.7, "buyer": 0.7, "contact": 0.6, "person": 0.5,
                  "household": 0.5},
    "opportunities": {"opportunity": 1.0, "deal": 0.95, "opp": 0.9, "pipeline": 0.7, "sale": 0.6,
                      "tracker": 0.5},
    "engagements": {"engagement": 1.0, "activity": 0.9, "interaction": 0.9, "touchpoint": 0.9, "call": 0.8,
                    "meeting": 0.8, "task": 0.7, "event": 0.6, "note": 0.6, "email": 0.5},
    "initiatives": {"initiative": 1.0, "program": 0.7, "programme": 0.7, "project": 0.6, "campaign": 0.5},
    "portfolio_resources": {"resource": 0.8, "asset": 0.6, "zone": 0.6, "worker": 0.6},
}

# Source field names (snake_case) for each column, per table, with weights. Reference columns
# (customer_id, opportunity_id) list the names of fields that hold the referenced record's source id.
COLUMN_SYNONYMS: dict[str, dict[str, dict[str, float]]] = {
    "customers": {
        "external_id": {"external_id": 0.9, "id": 0.8, "record_id": 0.85, "customer_id": 0.85, "account_id": 0.85,
                        "company_id": 0.85, "client_id": 0.85, "contact_id": 0.7, "customer_number": 0.8,
                        "account_number": 0.8},
        "name": {"name": 0.9, "full_name": 0.85, "display_name": 0.8, "legal_name": 0.8},
        "kind": {"kind": 0.7, "customer_type": 0.6},
        "domain": {"domain": 0.9, "website": 0.8, "web_site": 0.8, "company_domain": 0.85, "url": 0.6,
                   "homepage": 0.7},
        "industry": {"industry": 0.9, "sector": 0.8, "vertical": 0.7, "segment": 0.6},
        "email": {"email": 0.9, "email_address": 0.9, "e_mail": 0.9, "mail": 0.6, "primary_email": 0.85},
        "phone": {"phone": 0.9, "phone_number": 0.9, "telephone": 0.85, "tel": 0.7, "mobile": 0.7,
                  "mobile_phone": 0.75, "primary_phone": 0.85},
        "city": {"city": 0.9, "billing_city": 0.85, "shipping_city": 0.75, "town": 0.7, "mailing_city": 0.8},
        "country_code": {"country_code": 0.9, "country": 0.6, "billing_country": 0.6, "country_iso": 0.85},
    },
    "opportunities": {
        "external_id": {"external_id": 0.9, "id": 0.8, "record_id": 0.85, "opportunity_id": 0.85,
                        "deal_id": 0.85},
        "name": {"name": 0.9, "opportunity_name": 0.9, "deal_name": 0.9, "title": 0.7, "subject": 0.5,
                 "description": 0.4},
        "customer_id": {"customer_id": 0.9, "account_id": 0.9, "company_id": 0.9, "client_id": 0.9,
                        "associated_company_id": 0.85, "associated_company_ids": 0.8, "associated_contact_ids": 0.55,
                        "associated_contact_id": 0.55, "contact_id": 0.55, "contact_ids": 0.55},
        "stage_id": {"stage": 0.9, "stage_name": 0.9, "deal_stage": 0.9, "pipeline_stage": 0.9,
                     "sales_stage": 0.9, "phase": 0.7, "status": 0.55},
        "status": {"status": 0.8, "state": 0.6, "outcome": 0.6},
        "amount": {"amount": 0.9, "deal_amount": 0.9, "value": 0.7, "deal_value": 0.85, "contract_value": 0.8,
                   "price": 0.6, "total": 0.6, "revenue": 0.6, "deal_size": 0.8},
        "currency": {"currency": 0.9, "currency_code": 0.9, "currency_iso_code": 0.9, "deal_currency_code": 0.9},
        "probability": {"probability": 0.9, "win_probability": 0.9, "deal_probability": 0.9, "likelihood": 0.7,
                        "confidence": 0.5},
        "expected_close_date": {"expected_close_date": 0.9, "close_date": 0.85, "expected_close": 0.85,
                                "closing_date": 0.8, "estimated_close_date": 0.85, "target_date": 0.6,
                                "due_date": 0.5},
        "actual_close_date": {"actual_close_date": 0.9, "closed_date": 0.8, "date_closed": 0.8, "closed_at": 0.8,
                              "won_date": 0.7},
        "owner_name": {"owner_name": 0.9, "owner": 0.8, "deal_owner": 0.85, "opportunity_owner": 0.85,
                       "sales_rep": 0.8, "rep": 0.7, "salesperson": 0.8, "assigned_to": 0.7},
    },
    "engagements": {
        "external_id": {"external_id": 0.9, "id": 0.8, "record_id": 0.85, "activity_id": 0.85,
                        "engagement_id": 0.85, "task_id": 0.8, "call_id": 0.8},
        "customer_id": {"customer_id": 0.9, "account_id": 0.9, "company_id": 0.9, "client_id": 0.9,
                        "associated_company_id": 0.85, "associated_contact_ids": 0.7, "associated_contact_id": 0.7,
                        "contact_id": 0.7, "who_id": 0.55},
        "opportunity_id": {"opportunity_id": 0.9, "deal_id": 0.9, "associated_deal_ids": 0.8,
                           "associated_deal_id": 0.85, "what_id": 0.6},
        "type": {"type": 0.8, "activity_type": 0.9, "engagement_type": 0.9, "task_subtype": 0.75,
                 "subtype": 0.6, "kind": 0.6},
        "channel": {"channel": 0.9, "medium": 0.7, "via": 0.6},
        "occurred_at": {"occurred_at": 0.9, "activity_date": 0.85, "date": 0.7, "timestamp": 0.8,
                        "start_time": 0.7, "time": 0.6, "when": 0.6, "activity_date_time": 0.85},
        "contact_name": {"contact_name": 0.9, "contact": 0.7, "attendee": 0.7, "who": 0.6, "with": 0.6},
        "owner_name": {"owner_name": 0.9, "owner": 0.8, "assigned_to": 0.8, "activity_assigned_to": 0.85,
                       "rep": 0.7, "performed_by": 0.8, "user": 0.6},
        "subject": {"subject": 0.9, "title": 0.8, "topic": 0.7, "name": 0.6},
        "summary": {"summary": 0.9, "notes": 0.85, "note": 0.85, "description": 0.8, "body": 0.7,
                    "comments": 0.7, "details": 0.7, "outcome": 0.6},
    },
    "initiatives": {
        "external_id": {"external_id": 0.9, "id": 0.8},
        "name": {"name": 0.9, "title": 0.8},
        "description": {"description": 0.9, "summary": 0.8, "goal": 0.6},
        "priority": {"priority": 0.9},
        "status": {"status": 0.8},
    },
    "portfolio_resources": {
        "type": {"type": 0.9, "resource_type": 0.9, "kind": 0.7},
        "name": {"name": 0.9, "resource_name": 0.9},
        "external_id": {"external_id": 0.9, "id": 0.8, "resource_id": 0.9},
        "plan": {"plan": 0.9, "tier": 0.8},
    },
}

# Tables whose records a source often carries inline in another table's export (a deals export with
# the company's name in each row), and the column of the child table that references them.
EMBEDDED_PARENTS: dict[str, tuple[str, str]] = {
    "opportunities": ("customers", "customer_id"),
    "engagements": ("customers", "customer_id"),
    "portfolio_resources": ("customers", "customer_id"),
}

# Source names of the standard pipeline stages, in compact form, with weights.
STAGE_SYNONYMS: dict[str, dict[str, float]] = {
    "prospecting": {"prospecting": 1.0, "prospect": 0.9, "lead": 0.8, "newlead": 0.8, "new": 0.6,
                    "initialcontact": 0.75, "contacted": 0.6},
    "qualification": {"qualification": 1.0, "qualified": 0.9, "qualifiedtobuy": 0.9, "qualify": 0.9,
                      "salesqualified": 0.85},
    "discovery": {"discovery": 1.0, "needsanalysis": 0.85, "appointmentscheduled": 0.8, "meetingscheduled": 0.8,
                  "presentationscheduled": 0.75, "demoscheduled": 0.75, "demo": 0.7},
    "proposal": {"proposal": 1.0, "proposalsent": 0.9, "proposalpricequote": 0.9, "quote": 0.8,
                 "quotesent": 0.85, "pricequote": 0.85, "decisionmakerboughtin": 0.7, "valueproposition": 0.55},
    "negotiation": {"negotiation": 1.0, "negotiationreview": 0.9, "negotiating": 0.9, "contractsent": 0.85,
                    "contract": 0.8, "verbalcommit": 0.75, "commit": 0.6},
    "closed_won": {"closedwon": 1.0, "won": 0.9, "closedwin": 0.9, "signed": 0.7},
    "closed_lost": {"closedlost": 1.0, "lost": 0.9, "closedlose": 0.8, "dead": 0.6},
}

# Opportunity status of each standard stage.
STAGE_STATUS = {"closed_won": "won", "closed_lost": "lost"}

# Source values of closed enum columns, in compact form.
ENUM_SYNONYMS: dict[str, dict[str, dict[str, str]]] = {
    "engagements": {
        "type": {"call": "call", "phonecall": "call", "logacall": "call", "email": "email", "mail": "email",
                 "meeting": "meeting", "appointment": "meeting", "visit": "meeting", "sitevisit": "meeting",
                 "note": "note", "task": "task", "todo": "task", "message": "message", "sms": "message",
                 "chat": "message", "event": "event"},
        "channel": {"phone": "phone", "call": "phone", "email": "email", "video": "video", "zoom": "video",
                    "inperson": "in_person", "onsite": "in_person", "chat": "chat", "social": "social",
                    "web": "web"},
    },
    "opportunities": {
        "status": {"open": "open", "won": "won", "closedwon": "won", "lost": "lost", "closedlost": "lost"},
    },
    "initiatives": {
        "priority": {"high": "high", "medium": "medium", "med": "medium", "normal": "medium", "low": "low"},
        "status": {"proposed": "proposed", "active": "active", "paused": "paused", "done": "done",
                   "cancelled": "cancelled", "canceled": "cancelled"},
    },
    "portfolio_resources": {
        "type": {"zone": "zone", "worker": "worker", "workers": "worker", "d1": "d1", "r2": "r2", "kv": "kv",
                 "workerskv": "kv", "queue": "queue", "queues": "queue", "durableobject": "durable_object",
                 "pages": "pages", "hyperdrive": "hyperdrive", "vectorize": "vectorize", "workflow": "workflow",
                 "aigateway": "ai_gateway"},
    },
    "customers": {
        "kind": {"company": "company", "business": "company", "organization": "company", "person": "person",
                 "individual": "person", "consumer": "person"},
    },
}

# Engagement type implied by an entity name token (a "calls" export contains calls).
ENGAGEMENT_TYPE_BY_ENTITY = {"call": "call", "email": "email", "meeting": "meeting", "note": "note",
                             "task": "task", "event": "event"}
# Channel implied by an engagement type.
CHANNEL_BY_TYPE = {"call": "phone", "email": "email", "message": "chat"}

# Words in a field name that mark a person's name, beyond those the profiler checks.
PERSON_WORDS = frozenset({"contact", "owner", "rep", "salesperson", "assigned", "attendee", "who", "person",
                          "first", "last", "surname"})

# Words in an entity or field name that say whether a customer is a company or a person.
CUSTOMER_KIND_WORDS = {
    "company": "company", "account": "company", "organization": "company", "organisation": "company",
    "org": "company", "business": "company", "contact": "person", "person": "person", "individual": "person",
    "consumer": "person",
}
