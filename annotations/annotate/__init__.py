"""The annotator interface: queues, the item page, submissions, gold items and the lead page.

Blind by construction: everything an annotator sees is built by `selectors.item_sheet_get`,
which reads the item's own content and the annotator's own judgements, nothing else.
"""
