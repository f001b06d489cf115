"""The annotator interface: queues, the item page, submissions, gold items and the lead page.

Blind by construction: everything an annotator sees is an `ItemSheet` (sheet.py), built from
the item's text and the annotator's own judgements and nothing else, whichever queue engine
(queue_orm, queue_sql) read them. `services` is the seam that picks the engine; `rules` holds
the decisions both engines share.
"""
