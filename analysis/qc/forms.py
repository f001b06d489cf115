"""The QC page's form: move an annotator to another rater group."""

from django import forms


class GroupMoveForm(forms.Form):
    membership = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    group = forms.CharField(max_length=64, label="Group")
