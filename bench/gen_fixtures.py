#!/usr/bin/env python3
"""Writes a fixtures directory with N generated customers per spec, for bench/run.sh.

    python3 bench/gen_fixtures.py N OUT_DIR [CLIENTS_YAML]

OUT_DIR/alternative-payments/customers.json  N CustomerReply items (uuid-looking ids)
OUT_DIR/alternative-payments/clients.yaml    copy of CLIENTS_YAML (the OAuth client), if given
OUT_DIR/swisspay/customers.json              N Customer items (cus_ + 26 characters, unique email
                                             and external_id, every required field present)

The items are written as text with plain string formatting (every generated value is ASCII and
needs no JSON escaping), straight to a buffered file: a million items per spec take a few seconds.
"""

import os
import shutil
import sys
import time

BASE_EPOCH = 1735689600  # 2025-01-01T00:00:00Z; item i is created i seconds later.
CITIES = [
    ("Chicago", "IL", "60607"),
    ("Asheville", "NC", "28801"),
    ("Portland", "OR", "97214"),
    ("Austin", "TX", "78745"),
    ("Boston", "MA", "02110"),
]
SWISS = [
    ("Bahnhofstrasse 12", "Zürich", "8001", "ZH", "CH", "de-CH"),
    ("Rue du Rhône 48", "Genève", "1204", "GE", "CH", "fr-CH"),
    ("Via Nassa 5", "Lugano", "6900", "TI", "CH", "it-CH"),
    ("Baarerstrasse 75", "Zug", "6300", "ZG", "CH", "en-US"),
]


def timestamps(n):
    """RFC 3339 UTC timestamps, one second apart (formatted by hand: strftime per item is slow)."""
    t0 = time.gmtime(BASE_EPOCH)
    day = time.strftime("%Y-%m-%d", t0)
    day_start = BASE_EPOCH
    for i in range(n):
        t = BASE_EPOCH + i
        if t - day_start >= 86400:
            day_start += 86400 * ((t - day_start) // 86400)
            day = time.strftime("%Y-%m-%d", time.gmtime(day_start))
        s = t - day_start
        yield f"{day}T{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"


def write_ap(path, n):
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write('{"resources":{"/customers":[\n')
        sep = ""
        for i, ts in enumerate(timestamps(n)):
            city, state, postal = CITIES[i % len(CITIES)]
            # 8-4-4-4-12 hex, version nibble 4 and variant 8: looks like a v4 UUID, unique by i.
            cid = f"{i:08x}-{(i * 7919) & 0xFFFF:04x}-4{i & 0xFFF:03x}-8{(i >> 12) & 0xFFF:03x}-{i * 2654435761 & 0xFFFFFFFFFFFF:012x}"
            f.write(
                f'{sep}{{"id":"{cid}","name":"Bench Company {i}","legal_name":"Bench Company {i} LLC",'
                f'"email":"billing{i}@bench-company.example.com","external_id":"CUST-{i}",'
                f'"street_address":"{100 + i % 900} Main St","city":"{city}","state":"{state}",'
                f'"postal_code":"{postal}","country":"US","created_at":"{ts}"}}'
            )
            sep = ",\n"
        f.write("\n]}}\n")


def write_swisspay(path, n):
    with open(path, "w", encoding="utf-8", buffering=1 << 20) as f:
        f.write('{"resources":{"/customers":[\n')
        sep = ""
        for i, ts in enumerate(timestamps(n)):
            line1, city, postal, state, country, locale = SWISS[i % len(SWISS)]
            cid = f"cus_01BENCH{i:019d}"  # cus_ + 26 characters
            dob = "null" if i % 3 else f'"19{50 + i % 50:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}"'
            phone = "null" if i % 5 == 4 else f'"+41 79 555 {i % 100:02d} {i // 100 % 100:02d}"'
            f.write(
                f'{sep}{{"id":"{cid}","email":"shopper{i}@bench.example.com","name":"Shopper {i}",'
                f'"phone":{phone},"locale":"{locale}","external_id":"bench_{i}",'
                f'"billing_address":{{"line1":"{line1}","city":"{city}","postal_code":"{postal}",'
                f'"state":"{state}","country":"{country}"}},"delivery_address":null,'
                f'"date_of_birth":{dob},"metadata":{{"plan":"pro"}},"created_at":"{ts}"}}'
            )
            sep = ",\n"
        f.write("\n]}}\n")


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: gen_fixtures.py N OUT_DIR [CLIENTS_YAML]")
    n = int(sys.argv[1])
    out = sys.argv[2]
    started = time.monotonic()
    ap = os.path.join(out, "alternative-payments")
    sp = os.path.join(out, "swisspay")
    os.makedirs(ap, exist_ok=True)
    os.makedirs(sp, exist_ok=True)
    write_ap(os.path.join(ap, "customers.json"), n)
    if len(sys.argv) > 3:
        shutil.copyfile(sys.argv[3], os.path.join(ap, "clients.yaml"))
    write_swisspay(os.path.join(sp, "customers.json"), n)
    size = sum(
        os.path.getsize(os.path.join(d, f)) for d in (ap, sp) for f in os.listdir(d)
    )
    print(
        f"{n} customers per spec in {out} ({size / 1e6:.1f} MB) in {time.monotonic() - started:.1f} s"
    )


if __name__ == "__main__":
    main()
