"""Import prospects and touchpoints from a CSV file: the same checks and all-or-nothing import as the browser.

    manage.py import_leads leads.csv --user marketer --dry-run
    manage.py import_leads leads.csv --user marketer --map email=E-mail --map first_name="Given name"

Every bad row is printed (row number, field, reason); with any, nothing is imported and the exit status is 1."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from leads.csv_io import ENCODINGS, FIELD_NAMES, FileProblem, RowError, import_csv, read_head, suggest_mapping


class Command(BaseCommand):
    help = "Import prospects and touchpoints from CSV (all rows or none); --dry-run only checks."

    def add_arguments(self, parser):
        parser.add_argument("path", help="The CSV file; its first row names the columns.")
        parser.add_argument("--user", required=True, help="Username the import is recorded under (events' actor).")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COLUMN",
            help=f"Which column fills a field (repeatable); unmapped fields are guessed from the header. "
            f"Fields: {', '.join(FIELD_NAMES)}.",
        )
        parser.add_argument("--dry-run", action="store_true", help="Check every row, import nothing.")
        parser.add_argument("--encoding", default="utf-8-sig", choices=sorted(ENCODINGS))
        parser.add_argument("--delimiter", default=None, help="Default: guessed from the header (, ; tab |).")

    def handle(self, *args, path, user, map, dry_run, encoding, delimiter, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        by = User.objects.filter(username=user, is_active=True).first()
        if by is None:
            raise CommandError(f"No active user {user!r}.")
        try:
            with file.open("rb") as raw:
                head = read_head(raw, encoding=encoding, delimiter=delimiter)
        except FileProblem as problem:
            raise CommandError(f"row {problem.row}: {problem.reason}") from problem
        mapping = suggest_mapping(head["header"])
        for item in map:
            field, sep, column = item.partition("=")
            if not sep or field not in FIELD_NAMES:
                raise CommandError(f"--map {item!r}: use FIELD=COLUMN with FIELD one of {', '.join(FIELD_NAMES)}.")
            if column:
                mapping[field] = column
            else:
                mapping.pop(field, None)
        self.stdout.write("Mapping: " + ", ".join(f"{k} ← {v!r}" for k, v in mapping.items()))

        def report(error: RowError) -> None:
            self.stderr.write(f"row {error.row}, {error.field}: {error.reason}")

        def progress(phase: str, rows: int, pct: int) -> None:
            if options["verbosity"] >= 2:
                self.stdout.write(f"  {phase}: {rows} rows")

        stats = import_csv(
            lambda: file.open("rb"),
            mapping=mapping,
            by=by,
            encoding=encoding,
            delimiter=head["delimiter"],
            dry_run=dry_run,
            size=file.stat().st_size,
            on_progress=progress,
            on_error=report,
            ref=f"command:{file.name}",
        )
        if stats.error_count:
            raise CommandError(f"{stats.error_count} problem(s) in {stats.rows} rows; nothing was imported.")
        if dry_run:
            self.stdout.write(
                f"Dry run: {stats.rows} rows are valid ({stats.rows_for_existing} for existing leads), "
                "nothing imported."
            )
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {stats.rows} rows: {stats.created} new leads, {stats.updated} updated, "
                f"{stats.touchpoints} touchpoints ({stats.duplicate_touchpoints} already there), "
                f"{stats.qualified} qualified as MQL."
            )
        )
