"""The one exception type for domain rules; the API turns it into a readable 400."""


class DomainError(Exception):
    def __init__(self, message: str, errors: list[str] | None = None, count: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or []
        self.count = count or len(self.errors) or 1
