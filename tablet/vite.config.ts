// Builds the tablet app into dist/, which the signq binary embeds (tablet/src/lib.rs).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Same sources, same bytes: CI rebuilds and compares with the committed bundle.
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
  },
});
