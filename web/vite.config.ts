import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The build goes into the Python package, which `staffroom serve` answers at `/`.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "../src/staffroom/webapp/dist",
    emptyOutDir: true,
    // No inline scripts or styles: the CSP allows same-origin files only.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
  server: {
    proxy: {
      "/api": { target: "http://127.0.0.1:8000", ws: true },
      "/sso": "http://127.0.0.1:8000",
      "/schema": "http://127.0.0.1:8000",
    },
  },
});
