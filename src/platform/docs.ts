import { Hono } from "hono";
import type { AppEnv } from "./app-env";

// A self-contained docs page: no CDN, so it works offline under `npm start`.
const page = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>API reference</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h2{border-bottom:1px solid #ddd;margin-top:2rem}details{margin:.4rem 0;border:1px solid #e5e5e5;border-radius:6px;padding:.4rem .7rem}
summary{cursor:pointer}code.m{display:inline-block;min-width:4.5em;font-weight:700}
.get{color:#1565c0}.post{color:#2e7d32}.put,.patch{color:#ef6c00}.delete{color:#c62828}pre{background:#f6f8fa;padding:.6rem;overflow:auto;font-size:12px}</style>
</head><body><h1>API reference</h1><p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1).</p>
<div id="out">Loading…</div><script>
fetch('/api/v1/openapi.json').then(r=>r.json()).then(doc=>{const byTag={};
for(const [p,ops] of Object.entries(doc.paths||{}))for(const [m,op] of Object.entries(ops)){const t=(op.tags||['other'])[0];(byTag[t]=byTag[t]||[]).push([m,p,op])}
const out=document.getElementById('out');out.textContent='';
for(const [tag,list] of Object.entries(byTag)){const h=document.createElement('h2');h.textContent=tag;out.append(h);
for(const [m,p,op] of list){const d=document.createElement('details');const s=document.createElement('summary');
s.innerHTML='<code class="m '+m+'">'+m.toUpperCase()+'</code> <code></code> — <span></span>';s.children[1].textContent=p;s.children[2].textContent=op.summary||'';
const pre=document.createElement('pre');pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);
d.append(s,pre);out.append(d)}}}).catch(e=>{document.getElementById('out').textContent='Failed to load: '+e})
</script></body></html>`;

export const docsRouter = new Hono<AppEnv>().get("/docs", (c) => c.html(page));
