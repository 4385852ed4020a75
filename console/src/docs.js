// The API reference page: Swagger UI over the document the API serves (no inline script).
window.addEventListener("load", () => {
  window.SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#reference",
    deepLinking: true,
  });
});
