// Builds dist/: the console bundle and the API reference page's files, all served by the API
// itself (no CDN). `make console` runs it when dist/ is missing or older than its sources.
import { copyFileSync, mkdirSync } from "node:fs";
import { build } from "esbuild";

const out = "dist";
mkdirSync(`${out}/docs`, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css"]) {
  copyFileSync(`node_modules/swagger-ui-dist/${file}`, `${out}/docs/${file}`);
}
copyFileSync("src/docs.js", `${out}/docs/docs.js`);

copyFileSync("src/index.html", `${out}/index.html`);
await build({
  entryPoints: ["src/console.js"],
  assetNames: "[name]-[hash]",
  bundle: true,
  minify: true,
  sourcemap: true,
  outdir: out,
  loader: { ".png": "file", ".svg": "file" },
  target: ["chrome110", "firefox110"],
});
console.log("console built into", out);
