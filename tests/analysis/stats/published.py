"""Published worked examples shared by several statistics tests."""

import numpy as np

NAN = np.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", sec. C — the same data
# as Gwet (2014, p. 120, irrCAC `cac.raw4raters`): 4 coders x 12 units, values 1..5 with
# missing data; stored as (units, coders) codes 0..4.
FOUR_CODERS_TWELVE_UNITS = (
    np.array(
        [
            [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
            [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
            [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
            [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
        ]
    ).T
    - 1
)
