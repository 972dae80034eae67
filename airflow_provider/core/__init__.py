"""Transport, authentication, retry and status primitives shared by hooks and triggers.

Nothing here imports Airflow except the exception base class, so the same code serves the
sync hooks (requests) and the async trigger (asyncio: core.http11, or httpx through a proxy).
"""
