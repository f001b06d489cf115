from django import forms

from annotations.importers import FORMATS


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="Native JSON Lines (see the README's import format); argilla: the export zipped."
    )
    format = forms.ChoiceField(choices=[(name, name) for name in sorted(FORMATS)], initial="native")
