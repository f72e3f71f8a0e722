"""Denormalized data generated from known schemas, for testing the 3NF step.

Each generator builds the tables of a known schema and joins them into one
flat relation the way an export would. It returns both, so a test can
normalize the flat rows and compare the result with the source tables.
Output is deterministic for a given seed. ``typos`` is the fraction of rows
in which one character of each ``noisy`` column is changed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dmodel.dependencies import NULL_TOKENS, is_null
from dmodel.relation import Relation, RelationSet

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Table:
    """One table of the known schema, with column names as the normalized result should have them."""

    name: str
    key: list[str]
    columns: list[str]
    rows: list[dict[str, Any]]


@dataclass
class Case:
    """A flat relation and the schema it was denormalized from."""

    name: str
    relation: str
    columns: list[str]
    rows: list[dict[str, Any]]
    tables: dict[str, Table]
    links: set[tuple[str, str, str]] = field(default_factory=set)
    noisy: list[str] = field(default_factory=list)

    def relation_set(self) -> RelationSet:
        rows = [dict(row) for row in self.rows]
        relation = Relation(name=self.relation, columns=list(self.columns), rows=rows, dataset=self.name)
        return RelationSet(relations={self.relation: relation})


def _typo(text: str, chooser: random.Random) -> str:
    position = chooser.randrange(len(text))
    replacement = chooser.choice([letter for letter in "qxzjkv" if letter != text[position]])
    return text[:position] + replacement + text[position + 1:]


def _add_typos(rows: list[dict[str, Any]], columns: list[str], fraction: float, chooser: random.Random) -> None:
    if fraction <= 0:
        return
    count = max(1, round(len(rows) * fraction))
    for index in sorted(chooser.sample(range(len(rows)), count)):
        for column in columns:
            rows[index][column] = _typo(rows[index][column], chooser)


def chain(rows: int = 500, *, seed: int = 0, typos: float = 0.0, customers: int | None = None) -> Case:
    """Orders -> customers -> cities -> countries, flattened into one orders export."""
    chooser = random.Random(seed)
    country_rows = [{"country_code": code, "name": name} for code, name in [
        ("DE", "Germany"), ("FR", "France"), ("IT", "Italy"), ("ES", "Spain"), ("NL", "Netherlands"),
        ("PL", "Poland"), ("SE", "Sweden"), ("PT", "Portugal")]]
    city_rows = [{"city_id": 100 + number, "name": f"City {number}",
                  "country_code": country_rows[number % len(country_rows)]["country_code"]}
                 for number in range(max(12, rows // 40))]
    customer_count = customers or max(10, rows // 8)
    customer_rows = [{"customer_id": 1000 + number, "name": f"Customer {number}",
                      "email": f"customer{number}@example.com", "city_id": chooser.choice(city_rows)["city_id"]}
                     for number in range(customer_count)]
    cities = {row["city_id"]: row for row in city_rows}
    countries = {row["country_code"]: row for row in country_rows}
    order_rows = []
    flat = []
    for number in range(rows):
        customer = customer_rows[number % customer_count] if number < customer_count else chooser.choice(customer_rows)
        city = cities[customer["city_id"]]
        country = countries[city["country_code"]]
        order = {"order_id": 50000 + number,
                 "ordered_at": f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}T{number % 24:02d}:15:00Z",
                 "total": round(chooser.uniform(5, 500), 2), "customer_id": customer["customer_id"]}
        order_rows.append(order)
        flat.append({**order, "customer_name": customer["name"], "customer_email": customer["email"],
                     "city_id": city["city_id"], "city_name": city["name"],
                     "country_code": country["country_code"], "country_name": country["name"]})
    noisy = ["customer_email"] if typos else []
    _add_typos(flat, noisy, typos, chooser)
    # Only referenced rows can be recovered from the export.
    used_cities = {row["city_id"] for row in flat}
    city_rows = [row for row in city_rows if row["city_id"] in used_cities]
    used_countries = {row["country_code"] for row in flat}
    country_rows = [row for row in country_rows if row["country_code"] in used_countries]
    columns = list(flat[0])
    return Case(name="chain", relation="orders", columns=columns, rows=flat, noisy=noisy, tables={
        "orders": Table("orders", ["order_id"], ["order_id", "ordered_at", "total", "customer_id"], order_rows),
        "customers": Table("customers", ["customer_id"], ["customer_id", "name", "email", "city_id"], customer_rows),
        "cities": Table("cities", ["city_id"], ["city_id", "name", "country_code"], city_rows),
        "countries": Table("countries", ["country_code"], ["country_code", "name"], country_rows),
    }, links={("orders", "customer_id", "customers"), ("customers", "city_id", "cities"),
              ("cities", "country_code", "countries")})


def star(rows: int = 500, *, seed: int = 0) -> Case:
    """A sales fact table with store and product dimensions, flattened."""
    chooser = random.Random(seed)
    store_rows = [{"store_id": number, "name": f"Store {number}", "city": f"Town {number % 7}"}
                  for number in range(1, max(6, rows // 60) + 1)]
    product_rows = [{"product_id": 700 + number, "name": f"Product {number}",
                     "color": chooser.choice(["red", "green", "blue", "black"])}
                    for number in range(max(8, rows // 20))]
    sale_rows = []
    flat = []
    for number in range(rows):
        store = store_rows[number % len(store_rows)]
        product = product_rows[number % len(product_rows)] if number < len(product_rows) \
            else chooser.choice(product_rows)
        sale = {"sale_id": number + 1, "sold_on": f"2024-03-{1 + number % 28:02d}",
                "quantity": chooser.randint(1, 9), "amount": round(chooser.uniform(1, 99), 2),
                "store_id": store["store_id"], "product_id": product["product_id"]}
        sale_rows.append(sale)
        flat.append({**sale, "store_name": store["name"], "store_city": store["city"],
                     "product_name": product["name"], "product_color": product["color"]})
    return Case(name="star", relation="sales", columns=list(flat[0]), rows=flat, tables={
        "sales": Table("sales", ["sale_id"], ["sale_id", "sold_on", "quantity", "amount", "store_id", "product_id"],
                       sale_rows),
        "stores": Table("stores", ["store_id"], ["store_id", "name", "city"], store_rows),
        "products": Table("products", ["product_id"], ["product_id", "name", "color"], product_rows),
    }, links={("sales", "store_id", "stores"), ("sales", "product_id", "products")})


def snowflake(rows: int = 500, *, seed: int = 0) -> Case:
    """Sales -> products -> categories -> departments, flattened."""
    chooser = random.Random(seed)
    department_rows = [{"department_code": code, "name": name}
                       for code, name in [("KIT", "Kitchen"), ("GAR", "Garden"), ("TOY", "Toys"), ("OFF", "Office")]]
    category_rows = [{"category_id": 10 + number, "name": f"Category {number}",
                      "department_code": department_rows[number % len(department_rows)]["department_code"]}
                     for number in range(12)]
    product_rows = [{"product_id": 500 + number, "name": f"Item {number}",
                     "category_id": category_rows[number % len(category_rows)]["category_id"]}
                    for number in range(max(24, rows // 15))]
    categories = {row["category_id"]: row for row in category_rows}
    departments = {row["department_code"]: row for row in department_rows}
    sale_rows = []
    flat = []
    for number in range(rows):
        product = product_rows[number % len(product_rows)] if number < len(product_rows) \
            else chooser.choice(product_rows)
        category = categories[product["category_id"]]
        department = departments[category["department_code"]]
        sale = {"sale_id": number + 1, "quantity": chooser.randint(1, 5),
                "amount": round(chooser.uniform(1, 250), 2), "product_id": product["product_id"]}
        sale_rows.append(sale)
        flat.append({**sale, "product_name": product["name"], "category_id": category["category_id"],
                     "category_name": category["name"], "department_code": department["department_code"],
                     "department_name": department["name"]})
    return Case(name="snowflake", relation="sales", columns=list(flat[0]), rows=flat, tables={
        "sales": Table("sales", ["sale_id"], ["sale_id", "quantity", "amount", "product_id"], sale_rows),
        "products": Table("products", ["product_id"], ["product_id", "name", "category_id"], product_rows),
        "categories": Table("categories", ["category_id"], ["category_id", "name", "department_code"],
                            category_rows),
        "departments": Table("departments", ["department_code"], ["department_code", "name"], department_rows),
    }, links={("sales", "product_id", "products"), ("products", "category_id", "categories"),
              ("categories", "department_code", "departments")})


def enrollments(students: int = 60, *, seed: int = 0) -> tuple[Case, list[dict[str, Any]]]:
    """Students and courses, M:N: one flat row per enrollment, and the same as ``;``-lists per student.

    Returns the flat case and the student records whose ``course_codes`` cell
    lists the codes, as a CSV export would.
    """
    chooser = random.Random(seed)
    course_rows = [{"course_code": f"C{number:03d}", "title": f"Course {number}",
                    "level": chooser.choice(["intro", "advanced"])} for number in range(10)]
    student_rows = [{"student_id": 200 + number, "name": f"Student {number}"} for number in range(students)]
    pairs = []
    records = []
    for student in student_rows:
        chosen = sorted(chooser.sample(course_rows, chooser.randint(2, 4)), key=lambda row: row["course_code"])
        records.append({**student, "course_codes": ";".join(course["course_code"] for course in chosen)})
        for course in chosen:
            pairs.append({"student_id": student["student_id"], "course_code": course["course_code"]})
    flat = [{"student_id": pair["student_id"], "student_name": f"Student {pair['student_id'] - 200}",
             "course_code": pair["course_code"],
             "course_title": next(c["title"] for c in course_rows if c["course_code"] == pair["course_code"]),
             "course_level": next(c["level"] for c in course_rows if c["course_code"] == pair["course_code"])}
            for pair in pairs]
    case = Case(name="enrollments", relation="enrollments", columns=list(flat[0]), rows=flat, tables={
        "enrollments": Table("enrollments", ["student_id", "course_code"], ["student_id", "course_code"], pairs),
        "students": Table("students", ["student_id"], ["student_id", "name"], student_rows),
        "courses": Table("courses", ["course_code"], ["course_code", "title", "level"], course_rows),
    }, links={("enrollments", "student_id", "students"), ("enrollments", "course_code", "courses")})
    return case, records


def employees(rows: int = 120, *, seed: int = 0) -> Case:
    """Employees with their manager's id and name repeated on every row: a self reference."""
    chooser = random.Random(seed)
    department_rows = [{"department_code": code, "name": name}
                       for code, name in [("ENG", "Engineering"), ("OPS", "Operations"), ("SAL", "Sales"),
                                          ("FIN", "Finance")]]
    managers = max(4, rows // 12)
    employee_rows = []
    for number in range(rows):
        manager = None if number < managers else 1 + chooser.randrange(managers)
        employee_rows.append({"employee_id": number + 1, "name": f"Employee {number + 1}", "manager_id": manager,
                              "department_code": department_rows[number % 4]["department_code"]})
    names = {row["employee_id"]: row["name"] for row in employee_rows}
    departments = {row["department_code"]: row["name"] for row in department_rows}
    flat = [{**row, "manager_name": names.get(row["manager_id"]),
             "department_name": departments[row["department_code"]]} for row in employee_rows]
    columns = ["employee_id", "name", "manager_id", "manager_name", "department_code", "department_name"]
    flat = [{column: row[column] for column in columns} for row in flat]
    return Case(name="employees", relation="employees", columns=columns, rows=flat, tables={
        "employees": Table("employees", ["employee_id"], ["employee_id", "name", "manager_id", "department_code"],
                           employee_rows),
        "departments": Table("departments", ["department_code"], ["department_code", "name"], department_rows),
    }, links={("employees", "manager_id", "employees"), ("employees", "department_code", "departments")})


def wide(rows: int, columns: int = 30, *, seed: int = 0) -> tuple[list[str], list[dict[str, Any]]]:
    """A wide orders export for benchmarks: ``columns`` columns (20 to 40) over four entities and measures."""
    chooser = random.Random(seed)
    countries = [(f"C{number:02d}", f"Country {number}") for number in range(25)]
    cities = [(number, f"City {number}", countries[number % 25]) for number in range(400)]
    customer_total = max(50, rows // 20)
    products = [(number, f"SKU-{number:05d}", f"Product {number}", f"Category {number % 30}",
                 round(1 + (number * 7919 % 10000) / 100, 2)) for number in range(max(40, rows // 100))]
    base = ["order_id", "ordered_at", "status", "channel", "quantity", "total", "note",
            "customer_id", "customer_name", "customer_email", "customer_segment",
            "city_id", "city_name", "country_code", "country_name",
            "product_id", "product_sku", "product_name", "product_category", "unit_price"]
    extra = max(0, columns - len(base))
    letters = "abcdefghijklmnopqrstuvwxyz"
    names = base[:columns] + [f"metric_{letters[number]}" if number % 2 else f"flag_{letters[number]}"
                              for number in range(extra)]
    result = []
    for number in range(rows):
        customer_number = chooser.randrange(customer_total)
        city = cities[customer_number % len(cities)]
        product = products[chooser.randrange(len(products))]
        row = {"order_id": number + 1, "ordered_at": f"2024-{1 + number % 12:02d}-{1 + number % 28:02d}T12:00:00Z",
               "status": chooser.choice(["new", "paid", "shipped", "returned"]),
               "channel": chooser.choice(["web", "store", "phone"]), "quantity": chooser.randint(1, 9),
               "total": round(chooser.uniform(1, 900), 2),
               "note": chooser.choice(["", "", "", "leave the parcel with the neighbour at number twelve"]),
               "customer_id": customer_number, "customer_name": f"Customer {customer_number}",
               "customer_email": f"c{customer_number}@example.com",
               "customer_segment": ["retail", "trade", "wholesale"][customer_number % 3],
               "city_id": city[0], "city_name": city[1], "country_code": city[2][0], "country_name": city[2][1],
               "product_id": product[0], "product_sku": product[1], "product_name": product[2],
               "product_category": product[3], "unit_price": product[4]}
        for index in range(extra):
            row[names[len(base) + index]] = round(chooser.random() * 100, 3) if index % 2 else chooser.random() < 0.5
        result.append({name: row[name] for name in names})
    return names, result


def original_names(result: RelationSet, name: str) -> dict[str, str]:
    """Map the columns of an extracted relation back to the names they had in the flat relation."""
    for decision in result.decisions:
        if decision.code == "N303" and decision.subject == name:
            return dict(decision.evidence["columns"])
    return {column: column for column in result.relations[name].columns}


def _typed(value: Any) -> Any:
    # True == 1 in Python, so booleans get a tag before they become dictionary keys.
    return (bool, value) if isinstance(value, bool) else value


def join_back(result: RelationSet, name: str) -> list[dict[str, Any]]:
    """Join ``name`` with every relation it references, recursively, under the flat relation's column names.

    A NULL reference joins to NULLs, as a LEFT JOIN would.
    """
    relation = result.relations[name]
    names = original_names(result, name)
    parents = []
    for link in result.links:
        if link.child != name or link.parent == name or link.kind != "reference":
            continue
        parent_rows = join_back(result, link.parent)
        parent_names = original_names(result, link.parent)
        key = [parent_names.get(column, column) for column in link.parent_columns]
        by_key = {tuple(_typed(row[column]) for column in key): row for row in parent_rows}
        columns = list(parent_rows[0]) if parent_rows else []
        parents.append((link, by_key, columns))
    joined = []
    for row in relation.rows:
        out = {names.get(column, column): value for column, value in row.items()}
        for link, by_key, columns in parents:
            value = tuple(_typed(row[column]) for column in link.child_columns)
            match = by_key.get(value)
            for column in columns:
                if column not in out:
                    out[column] = match[column] if match else None
        joined.append(out)
    for decision in result.decisions:
        if decision.code == "N304":
            _pivot_group_back(result, name, decision, joined)
    return joined


def _pivot_group_back(result: RelationSet, name: str, decision: Any, joined: list[dict[str, Any]]) -> None:
    """Put the columns of a repeating group, stored as child rows, back beside their parent row."""
    link = next((link for link in result.links if link.child == decision.subject and link.parent == name), None)
    if link is None:
        return
    marker = decision.evidence["marker"]
    members = decision.evidence["members"]
    children: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for child in result.relations[decision.subject].rows:
        children.setdefault(tuple(_typed(child[c]) for c in link.child_columns), []).append(child)
    for row in joined:
        for fields in members.values():
            for column in fields.values():
                row[column] = None
        for child in children.get(tuple(_typed(row[c]) for c in link.parent_columns), []):
            for field_name, column in members[str(child[marker])].items():
                row[column] = child[field_name]


def as_bag(rows: list[dict[str, Any]], columns: list[str]) -> list[tuple[Any, ...]]:
    """Return the rows as a sorted list of tuples; every NULL spelling reads as None, as in normalize."""
    def canonical(value: Any) -> Any:
        if is_null(value) or (isinstance(value, str) and value.strip() in NULL_TOKENS):
            return None
        return value
    return sorted(tuple(repr(canonical(row.get(column))) for column in columns) for row in rows)


def load_sqlite(result: RelationSet):
    """Create every relation as a SQLite table with its natural key UNIQUE and its links as foreign keys.

    Returns the open connection, with ``PRAGMA foreign_keys = ON``; rows are
    inserted parents first.
    """
    import sqlite3

    import networkx

    connection = sqlite3.connect(":memory:")
    connection.execute("PRAGMA foreign_keys = ON")
    graph = networkx.DiGraph()
    graph.add_nodes_from(result.relations)
    for link in result.links:
        if link.parent != link.child:
            graph.add_edge(link.parent, link.child)
    order = list(networkx.lexicographical_topological_sort(graph))
    referenced = {(link.parent, tuple(link.parent_columns)) for link in result.links}
    for name in order:
        relation = result.relations[name]
        parts = [f'"{column}"' for column in relation.columns]
        uniques = {tuple(relation.key)} if relation.key else set()
        uniques |= {columns for parent, columns in referenced if parent == name}
        for columns in sorted(uniques):
            parts.append("UNIQUE (" + ", ".join(f'"{column}"' for column in columns) + ")")
        for link in result.links:
            if link.child == name:
                parts.append("FOREIGN KEY (" + ", ".join(f'"{c}"' for c in link.child_columns) + f') REFERENCES "'
                             f'{link.parent}" (' + ", ".join(f'"{c}"' for c in link.parent_columns) + ")")
        connection.execute(f'CREATE TABLE "{name}" ({", ".join(parts)})')
    for name in order:
        relation = result.relations[name]
        placeholders = ", ".join("?" for _ in relation.columns)
        connection.executemany(f'INSERT INTO "{name}" VALUES ({placeholders})',
                               [[row.get(column) for column in relation.columns] for row in relation.rows])
    return connection
