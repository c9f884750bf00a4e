import tailwindcss from "@tailwindcss/vite";
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The browser only ever talks to the web origin: in development Vite proxies /trpc to the api, in
// production the web server (src/server) or the edge Caddy does.
export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    port: 8082,
    proxy: { "/trpc": process.env.HITRAIL_API_URL ?? "http://127.0.0.1:8081" },
  },
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 1500 },
});
