"""`manage.py import_catalog`: what a shop owner sees when importing a CSV, good rows and bad."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from store.models import Category, Product
from tests.brokers import broker_client, queued_product_batches

HEADER = "sku,name,category,price,description,stock,language,attributes\n"


def write_csv(tmp_path, text: str, name: str = "catalog.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8", newline="")
    return path


def run_import(path) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("import_catalog", str(path), stdout=stdout, stderr=stderr, no_progress=True)
    return stdout.getvalue().strip(), stderr.getvalue()


MIXED = (
    HEADER
    # line 2-3: a quoted description spanning two physical lines
    + 'GOOD-1,Trail hoodie,Men/Tops/Hoodies,49.00,"Warm fleece.\nSecond line of the description.",10,en,'
    '"{""color"": ""grey""}"\n'
    + "BAD-PRICE,Price typo,Men/Tops,abc,Typo in the price,,,\n"  # 4
    + "BAD-STOCK,Negative stock,Men/Tops,5.00,Stock below zero,-1,,\n"  # 5
    + "GOOD-2,Rain jacket,Outdoor/Jackets,89.50,Packable shell,3,,\n"  # 6
    + "BAD-LANG,French beret,Men/Hats,12.00,Un béret,1,fr,\n"  # 7
    + "BAD-ATTR,Broken attributes,Men/Tops,5.00,Not JSON,1,en,{color: red}\n"  # 8
    + 'BAD-LIST,List attributes,Men/Tops,5.00,A JSON list,1,en,"[""red""]"\n'  # 9
    + "BAD-NAME,,Men/Tops,5.00,No name,1,en,\n"  # 10
    + "GOOD-1,Trail hoodie again,Men/Tops/Hoodies,50.00,Duplicate,1,en,\n"  # 11
    + "BAD-WIDE,Too many fields,Men/Tops,5.00,Extra,1,en,{},surplus\n"  # 12
    + "GOOD-3,Camp mug,Kitchen/Mugs,8.00,Enamel mug,,,\n"  # 13
)


@pytest.mark.django_db
def test_good_rows_are_imported_and_bad_rows_rejected_with_their_physical_line(tmp_path):
    out, err = run_import(write_csv(tmp_path, MIXED))

    assert out == "3 created, 0 updated, 0 unchanged, 8 rejected."
    rejections = err.strip().splitlines()
    expected = [
        ("line 4: rejected: ", "price 'abc' is not a number"),
        ("line 5: rejected: ", "stock cannot be negative"),
        ("line 7: rejected: ", "language 'fr' is not one of ['en', 'zh']"),
        ("line 8: rejected: ", "attributes is not valid JSON"),
        ("line 9: rejected: ", "attributes must be a JSON object"),
        ("line 10: rejected: ", "name is empty"),
        ("line 11: rejected: ", "sku GOOD-1 already appeared on line 2"),
        ("line 12: rejected: ", "the row has more fields than the header"),
    ]
    assert len(rejections) == len(expected), err
    for line, (prefix, reason) in zip(rejections, expected, strict=True):
        assert line.startswith(prefix), line
        assert reason in line, line

    assert set(Product.objects.values_list("sku", flat=True)) == {"GOOD-1", "GOOD-2", "GOOD-3"}
    hoodie = Product.objects.get(sku="GOOD-1")
    assert hoodie.name == "Trail hoodie"  # the duplicate on line 11 did not overwrite it
    assert hoodie.price == Decimal("49.00")
    assert hoodie.description == "Warm fleece.\nSecond line of the description."
    assert hoodie.attributes == {"color": "grey"}
    # The rejected beret's new category path left nothing behind.
    assert not Category.objects.filter(name="Hats").exists()


@pytest.mark.django_db
def test_a_blank_line_between_rows_does_not_shift_the_reported_line_numbers(tmp_path):
    text = HEADER + "OK-1,Mug,Kitchen,8.00,Enamel mug,,,\n" + "\n" + "BAD-1,Cup,Kitchen,abc,Typo,,,\n"  # line 4

    out, err = run_import(write_csv(tmp_path, text))

    assert out == "1 created, 0 updated, 0 unchanged, 1 rejected."
    assert err.startswith("line 4: rejected: price 'abc'"), err


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("price", "stock", "category"),
    [
        pytest.param("100000000.00", "1", "Kitchen", id="price-beyond-99999999.99"),
        pytest.param("5.00", "3000000000", "Kitchen", id="stock-beyond-integer-range"),
        pytest.param("5.00", "1", "Kitchen/" + "x" * 121, id="category-name-over-120-characters"),
    ],
)
def test_values_the_database_cannot_hold_are_rejected_not_a_crash(tmp_path, price, stock, category):
    text = (
        HEADER
        + "OK-1,Mug,Kitchen,8.00,Enamel mug,,,\n"
        + f"BIG-1,Too big,{category},{price},Too big for a column,{stock},,\n"
        + "OK-2,Bowl,Kitchen,9.00,Enamel bowl,,,\n"
    )

    out, err = run_import(write_csv(tmp_path, text))

    assert out == "2 created, 0 updated, 0 unchanged, 1 rejected."
    assert err.startswith("line 3: rejected: "), err
    assert set(Product.objects.values_list("sku", flat=True)) == {"OK-1", "OK-2"}


@pytest.mark.django_db
def test_category_paths_build_a_tree_and_shared_prefixes_reuse_it(tmp_path):
    text = (
        HEADER
        + "H-1,Zip hoodie,Men/Tops/Hoodies,49.00,Fleece zip hoodie,,,\n"
        + "T-1,Crew tee,Men / Tops / Tees,19.00,Cotton tee,,,\n"
        + "H-2,Pullover hoodie,Men/Tops/Hoodies,45.00,Heavy pullover,,,\n"
    )

    run_import(write_csv(tmp_path, text))

    hoodies = Product.objects.get(sku="H-1").category
    assert hoodies.full_name == "Men / Tops / Hoodies"
    assert [node.name for node in hoodies.ancestors] == ["Men", "Tops", "Hoodies"]
    assert hoodies.parent.name == "Tops"
    assert hoodies.parent.parent.name == "Men"
    assert hoodies.parent.parent.parent is None
    assert Product.objects.get(sku="H-2").category == hoodies
    tees = Product.objects.get(sku="T-1").category
    assert tees.full_name == "Men / Tops / Tees"
    assert tees.parent == hoodies.parent
    assert Category.objects.count() == 4  # Men, Tops, Hoodies, Tees: no duplicates


@pytest.mark.django_db
def test_reimporting_is_idempotent_and_changes_update_in_place(tmp_path):
    rows = [
        'J-1,Rain jacket,Outdoor/Jackets,89.00,Packable shell,12,en,"{""color"": ""lime""}"\n',
        "Z-1,登山背包,户外/背包,299.00,轻量防水登山背包,4,zh,\n",
        "M-1,Camp mug,Kitchen/Mugs,8.00,Enamel mug,,,\n",
    ]
    path = write_csv(tmp_path, HEADER + "".join(rows))

    assert run_import(path)[0] == "3 created, 0 updated, 0 unchanged, 0 rejected."
    jacket = Product.objects.get(sku="J-1")
    assert (jacket.stock, jacket.language, jacket.attributes) == (12, "en", {"color": "lime"})
    pack = Product.objects.get(sku="Z-1")
    assert (pack.name, pack.language, pack.category.full_name) == ("登山背包", "zh", "户外 / 背包")
    mug = Product.objects.get(sku="M-1")
    assert (mug.stock, mug.language, mug.attributes) == (0, "en", {})  # defaults when the columns are empty

    assert run_import(path)[0] == "0 created, 0 updated, 3 unchanged, 0 rejected."

    rows[0] = 'J-1,Rain jacket,Outdoor/Jackets,79.00,Packable shell,12,en,"{""color"": ""lime""}"\n'
    write_csv(tmp_path, HEADER + "".join(rows))
    assert run_import(path)[0] == "0 created, 1 updated, 2 unchanged, 0 rejected."
    updated = Product.objects.get(sku="J-1")
    assert updated.pk == jacket.pk
    assert updated.price == Decimal("79.00")

    rows[2] = 'M-1,Camp mug,Kitchen/Mugs,8.00,Enamel mug,30,zh,"{""volume_ml"": 350}"\n'
    write_csv(tmp_path, HEADER + "".join(rows))
    assert run_import(path)[0] == "0 created, 1 updated, 2 unchanged, 0 rejected."
    mug_after = Product.objects.get(sku="M-1")
    assert mug_after.pk == mug.pk
    assert (mug_after.stock, mug_after.language, mug_after.attributes) == (30, "zh", {"volume_ml": 350})
    assert Product.objects.count() == 3


@pytest.mark.django_db
def test_a_missing_required_column_is_named(tmp_path):
    path = write_csv(tmp_path, "sku,name,category,description\nA-1,Mug,Kitchen,Enamel mug\n")

    with pytest.raises(CommandError, match="lacks the column\\(s\\) price"):
        run_import(path)
    assert not Product.objects.exists()


@pytest.mark.django_db
def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        run_import(tmp_path / "nope.csv")


@pytest.mark.django_db
def test_a_file_that_is_not_utf8_is_refused_and_nothing_is_half_imported(tmp_path):
    # Enough good rows to fill the reader's first buffer, then a Latin-1 "é".
    good = "".join(f"OK-{i},Mug {i},Kitchen,8.00,Enamel mug number {i},,,\n" for i in range(300))
    path = tmp_path / "latin1.csv"
    path.write_bytes((HEADER + good + "BAD-1,Béret,Men/Hats,12.00,Un béret,,,\n").encode("latin-1"))

    with pytest.raises(CommandError, match="not UTF-8"):
        run_import(path)
    assert not Product.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_one_import_is_queued_for_embedding_as_one_batch_and_a_rerun_queues_nothing(tmp_path, empty_embedding_queue):
    text = (
        HEADER
        + "Q-1,Mug,Kitchen/Mugs,8.00,Enamel mug,,,\n"
        + "Q-2,Bowl,Kitchen/Bowls,9.00,Enamel bowl,,,\n"
        + "Q-BAD,Plate,Kitchen/Plates,abc,Price typo,,,\n"
        + "Q-3,Plate,Kitchen/Plates,7.00,Enamel plate,,,\n"
        + "Q-4,Kettle,Kitchen/Kettles,39.00,Stovetop kettle,,,\n"
        + "Q-5,Pan,Kitchen/Pans,29.00,Cast iron pan,,,\n"
    )
    path = write_csv(tmp_path, text)

    assert run_import(path)[0] == "5 created, 0 updated, 0 unchanged, 1 rejected."

    batches = queued_product_batches()
    assert len(batches) == 1
    assert sorted(batches[0]) == sorted(str(pk) for pk in Product.objects.values_list("pk", flat=True))
    assert len(batches[0]) == 5

    broker_client().delete("embeddings")
    assert run_import(path)[0] == "0 created, 0 updated, 5 unchanged, 1 rejected."
    assert queued_product_batches() == []


@pytest.mark.django_db
def test_invoice_line_exports_become_one_product_per_stock_code(tmp_path):
    path = write_csv(
        tmp_path,
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536370,22728,ALARM CLOCK BAKELIKE PINK,24,12/1/2010 8:45,3.75,12583,France\n"
        "536370,POST,POSTAGE,3,12/1/2010 8:45,18,12583,France\n"
        "536371,22728,ALARM CLOCK BAKELIKE PINK ,6,12/2/2010 9:00,3.95,12584,France\n"
        "C536372,21731,RED TOADSTOOL LED NIGHT LIGHT,-1,12/3/2010 9:00,1.65,12584,France\n"
        "536373,21731,RED TOADSTOOL LED NIGHT LIGHT,2,12/4/2010 9:00,1.65,12584,France\n",
        name="retail.csv",
    )

    out, err = run_import(path)

    assert out == "2 created, 0 updated, 0 unchanged, 1 rejected."
    assert "line 3: rejected: stock code POST is a charge" in err
    clock = Product.objects.get(sku="22728")
    assert clock.name == "Alarm Clock Bakelike Pink" and clock.price == Decimal("3.95")  # the latest price
    assert str(clock.category) == "Online Retail"
    assert run_import(path)[0] == "0 created, 0 updated, 2 unchanged, 1 rejected."
