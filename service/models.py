"""Every model module, imported so `Base.metadata` and the mapper registry know every table.

Import this wherever models are used outside the API (worker, migrations, tests): foreign keys
name tables by string, and SQLAlchemy resolves them only among the tables it has seen.
"""

from service.auth import models as auth_models
from service.core.db import Base
from service.items import models as items_models
from service.messaging import outbox as outbox_models
from service.orders import models as orders_models
from service.users import models as users_models

__all__ = [
    "Base",
    "auth_models",
    "items_models",
    "orders_models",
    "outbox_models",
    "users_models",
]
