"""ONDE class-list import: the export variants a school may hand over."""

from __future__ import annotations

import pathlib

import pytest

from bot.roster import Roster, RosterChild, RosterError, parse_onde_csv


def _names(roster: Roster) -> list[str]:
    return [child.first_name for child in roster.children]


# A school-wide export, UTF-8 with a BOM, Windows line endings, quoted fields.
SCHOOL_UTF8_BOM = (
    "\ufeff"
    '"Nom";"Prénom élève";"Date de naissance";"Sexe";"Cycle";"Niveau";"Libellé classe"\r\n'
    '"MARTIN";"Zoé";"12/03/2021";"F";"1";"MS";"MS-GS Mme Durand"\r\n'
    '"BERNARD";"Maël";"02/11/2020";"M";"1";"GS";"MS-GS Mme Durand"\r\n'
    '"PETIT";"Lucas";"20/05/2022";"M";"1";"PS";"PS M. Roux"\r\n'
    '"DUBOIS";"Anaïs";"08/01/2021";"F";"1";"MS";"MS-GS Mme Durand"\r\n'
    '"LEROY";"Inès";"17/09/2022";"F";"1";"PS";"PS M. Roux"\r\n'
    "\r\n"
    "\r\n"
).encode("utf-8")

# One class, Windows-1252, upper-case column names, no quotes.
CLASS_CP1252 = (
    "NOM;PRENOM;DATE NAISSANCE;SEXE;CLASSE\r\n"
    "Lambert;Zoé;04/04/2021;F;GS\r\n"
    "Moreau;Maël;30/06/2021;M;GS\r\n"
    "Garnier;Anaïs;11/12/2021;F;GS\r\n"
    "Fournier;Noël;01/02/2021;M;GS\r\n"
).encode("cp1252")


def test_school_wide_export_filtered_to_one_class() -> None:
    roster = parse_onde_csv(SCHOOL_UTF8_BOM, class_label="ms-gs  mme DURAND")
    assert roster.children == (
        RosterChild("Zoé", "MS-GS Mme Durand"),
        RosterChild("Maël", "MS-GS Mme Durand"),
        RosterChild("Anaïs", "MS-GS Mme Durand"),
    )
    assert roster.warnings == ()


def test_without_a_class_label_every_child_of_the_export() -> None:
    roster = parse_onde_csv(SCHOOL_UTF8_BOM)
    assert _names(roster) == ["Zoé", "Maël", "Lucas", "Anaïs", "Inès"]
    assert roster.children[2].class_label == "PS M. Roux"


def test_only_first_names_leave_the_import() -> None:
    roster = parse_onde_csv(SCHOOL_UTF8_BOM)
    kept = repr(roster)
    for private in ("MARTIN", "BERNARD", "12/03/2021", "2020"):
        assert private not in kept


def test_windows_1252_export_with_accents() -> None:
    roster = parse_onde_csv(CLASS_CP1252, class_label="gs")
    assert _names(roster) == ["Zoé", "Maël", "Anaïs", "Noël"]
    assert {child.class_label for child in roster.children} == {"GS"}


def test_utf8_without_bom_and_accented_class_label() -> None:
    data = (
        "Nom;Prénom usuel;Prénom 2;Classe(s)\n"
        "Roux;Léa;Marie;Petite Section Étoiles\n"
        "Blanc;Éloïse;;Petite Section Étoiles\n"
        "Noir;Hugo;Jean;Grande Section\n"
    ).encode()
    roster = parse_onde_csv(data, class_label="petite section etoiles")
    assert _names(roster) == ["Léa", "Éloïse"]


def test_usual_first_name_preferred_and_upper_case_names_written_normally() -> None:
    data = (
        "Nom;Prénom;Prénom usuel;Niveau\n"
        "DURAND;MARIE-JEANNE;JEANNE;GS\n"
        "DURAND;JEAN-BAPTISTE;JEAN-BAPTISTE;GS\n"
    ).encode()
    assert _names(parse_onde_csv(data)) == ["Jeanne", "Jean-Baptiste"]


def test_level_column_stands_for_the_class_when_there_is_none() -> None:
    data = b"Nom;Prenom de l'eleve;Niveau\nA;Tom;PS\nB;Nina;MS\n"
    roster = parse_onde_csv(data, class_label="MS")
    assert roster.children == (RosterChild("Nina", "MS"),)


def test_title_lines_before_the_header_are_skipped_and_line_numbers_stay_true() -> None:
    data = (
        "Liste des élèves;;;\n"
        "École maternelle Jules Ferry;;;\n"
        "\n"
        "Nom;Prénom;Date de naissance;Classe\n"
        "A;Zoé;01/01/2021;PS\n"
        "B;;01/01/2021;PS\n"
        'C;"Anaïs";01/01/2021;PS\n'
    ).encode()
    roster = parse_onde_csv(data)
    assert _names(roster) == ["Zoé", "Anaïs"]
    assert roster.warnings == ("Ligne 6 : prénom vide, ignorée.",)


def test_two_children_with_the_same_first_name_are_both_kept_with_a_warning() -> None:
    data = "Nom;Prénom;Classe\nA;Léo;GS\nB;Zoé;GS\nC;léo;GS\n".encode()
    roster = parse_onde_csv(data)
    assert _names(roster) == ["Léo", "Zoé", "léo"]
    assert len(roster.warnings) == 1
    assert "Léo" in roster.warnings[0]
    assert "lignes 2, 4" in roster.warnings[0]


def test_a_quoted_field_with_the_separator_and_a_line_break() -> None:
    data = (
        'Nom;Prénom;Classe;Observations\r\n"A";"Zoé";"GS";"allergie; voir\r\nfiche"\r\n'
        '"B";"Maël";"GS";""\r\n;;;\r\n'
    ).encode()
    roster = parse_onde_csv(data)
    assert _names(roster) == ["Zoé", "Maël"]
    assert roster.warnings == ()


def test_class_column_missing_while_a_class_was_asked_keeps_everyone_with_a_warning() -> None:
    roster = parse_onde_csv("Nom;Prénom\nA;Zoé\n".encode(), class_label="GS")
    assert roster.children == (RosterChild("Zoé", None),)
    assert roster.warnings == (
        "Pas de colonne de classe dans ce fichier : tous ses élèves sont gardés.",
    )


def test_unknown_class_names_the_classes_found() -> None:
    with pytest.raises(RosterError) as caught:
        parse_onde_csv(SCHOOL_UTF8_BOM, class_label="CP")
    assert caught.value.message_fr == (
        "Aucun élève de la classe « CP » dans ce fichier. "
        "Classes trouvées : MS-GS Mme Durand, PS M. Roux."
    )


def test_no_first_name_column_lists_the_columns_seen() -> None:
    data = b"Nom;Date de naissance;Sexe\nA;01/01/2021;F\n"
    with pytest.raises(RosterError) as caught:
        parse_onde_csv(data)
    message = caught.value.message_fr
    assert message.startswith("Colonne du prénom introuvable")
    assert "« Nom », « Date de naissance », « Sexe »" in message


def test_a_column_mixing_family_and_first_name_is_not_taken() -> None:
    data = "Nom Prénom;Classe\nDUPONT Zoé;GS\n".encode()
    with pytest.raises(RosterError) as caught:
        parse_onde_csv(data)
    assert "Colonne du prénom introuvable" in caught.value.message_fr


@pytest.mark.parametrize(
    ("data", "start"),
    [
        (b"", "Le fichier est vide."),
        (b"\r\n \r\n", "Le fichier est vide."),
        (b"\xef\xbb\xbf\r\n", "Le fichier est vide."),
        ("Nom;Prénom;Classe\r\n\r\n".encode(), "Aucun élève dans ce fichier."),
        (b"PK\x03\x04\x14\x00\x06\x00", "Ce fichier est un classeur"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "Ce fichier n’est pas un fichier CSV"),
    ],
)
def test_unreadable_files_get_a_clear_french_error(data: bytes, start: str) -> None:
    with pytest.raises(RosterError) as caught:
        parse_onde_csv(data)
    assert caught.value.message_fr.startswith(start)
    assert str(caught.value) == caught.value.message_fr


def test_a_comma_in_a_title_line_does_not_change_the_separator() -> None:
    data = "Export ONDE, école Jules Ferry\nNom;Prénom;Classe\nA;Zoé;GS\n".encode()
    assert _names(parse_onde_csv(data)) == ["Zoé"]


def test_a_sheet_saved_again_with_commas_is_read_too() -> None:
    data = 'Nom,Prénom,Classe\r\n"A","Zoé","GS"\r\n'.encode("cp1252")
    assert parse_onde_csv(data).children == (RosterChild("Zoé", "GS"),)


def test_two_children_with_the_same_first_name_get_their_surname_initial() -> None:
    from bot.admin import roster_names

    data = "Nom;Prénom;Classe\nBERNARD;Léa;GS\nMartin;Zoé;GS\nMOREL;léa;GS\n".encode()
    roster = parse_onde_csv(data)
    assert [c.surname_initial for c in roster.children] == ["B", "M", "M"]
    assert roster_names(roster.children) == ["Léa B.", "Zoé", "Léa M."]


async def test_the_import_files_two_lea_as_two_children(tmp_path: pathlib.Path) -> None:
    from bot import admin
    from tests.core.harness import Stage

    stage = Stage(tmp_path / "data")
    await stage.start()
    try:
        await admin.invite_teacher(stage.svc.ctx, "École du Lac", "GS")
        export = tmp_path / "onde.csv"
        export.write_bytes("Nom;Prénom;Classe\nBERNARD;Léa;GS\nMOREL;Léa;GS\n".encode())
        result = await admin.import_onde(stage.svc.ctx, export, "GS", None, dry_run=False)
        assert result["added"] == ["Léa B.", "Léa M."]
        kids = await stage.svc.ctx.repos.families.children_of_class(1)
        assert [k.first_name for k in kids] == ["Léa B.", "Léa M."]
    finally:
        await stage.stop()
