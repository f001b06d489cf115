"""DRF's JSON parser with a clear 400 for a body nested too deeply to decode."""

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON nested too deeply."


class JSONParser(parsers.JSONParser):
    """`json.loads` raises RecursionError (not ValueError) on a body nested ~1,000 deep,
    which DRF's parser lets through as a 500."""

    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - {TOO_DEEP}") from None
