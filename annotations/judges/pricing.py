"""What a judge's tokens cost, from the editable ModelPrice table (admin)."""

from annotations.judges.models import ModelPrice


def price_for(model: str) -> tuple[float, float] | None:
    """Dollars per million input and output tokens: the longest `model_prefix` that starts
    the model's name; None when no price is known (the run counts tokens and says so)."""
    best = None
    for price in ModelPrice.objects.all():
        if model.startswith(price.model_prefix) and (
            best is None or len(price.model_prefix) > len(best.model_prefix)
        ):
            best = price
    if best is None:
        return None
    return float(best.input_per_mtok), float(best.output_per_mtok)
