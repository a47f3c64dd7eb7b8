"""Types of the compiled column builder (see ``_columns_fast.pyx``)."""

from typing import Any

import pyarrow as pa

def array(values: list[Any], arrow_type: pa.DataType) -> pa.Array: ...
