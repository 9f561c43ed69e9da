"""All business rules of feeds; never imports Litestar."""
