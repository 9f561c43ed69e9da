"""All business rules of single sign-on; never imports Litestar."""
