"""The web app (employees) and admin console: built by Vite into `dist/`, served at `/`."""
