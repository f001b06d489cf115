from django import forms
from django.urls import reverse_lazy
from django.utils.text import format_lazy

from annotations.importers import FORMATS


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text=format_lazy(
            'Native JSON Lines, or a data set\'s own files: see <a href="{}">the import '
            "format</a>, with examples.",
            reverse_lazy("annotations:import-format"),
        )
    )
    format = forms.ChoiceField(choices=[(name, name) for name in sorted(FORMATS)], initial="native")
