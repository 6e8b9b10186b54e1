// Draws a failure's neighbourhood with Cytoscape.js: the data is the JSON in #graph-data
// (written by the server); a node with a page of its own opens it when clicked.
(function () {
  "use strict";
  var holder = document.getElementById("graph");
  var data = document.getElementById("graph-data");
  if (!holder || !data || typeof cytoscape !== "function") return;
  var kinds = {
    Failure: ["#c0392b", "round-rectangle"], Cause: ["#e67e22", "diamond"],
    Experiment: ["#8e44ad", "triangle"], Lesson: ["#2e86c1", "ellipse"],
    Practice: ["#27ae60", "hexagon"], Action: ["#b03a8a", "tag"],
    Component: ["#7f8c8d", "rectangle"], Team: ["#f1c40f", "star"],
    Document: ["#bdc3c7", "rectangle"]
  };
  var style = [
    { selector: "node", style: {
      "label": "", "font-size": 12, "text-wrap": "ellipsis", "text-max-width": 140,
      "text-valign": "bottom", "text-margin-y": 4, "width": 22, "height": 22,
      "border-width": 1, "border-color": "#333", "color": "#1d2330" } },
    // Shared things are named; a failure's own parts (experiments, lessons, actions) and its
    // documents are named when pointed at, so the names do not pile up.
    { selector: "node[focus], node[href], node[kind = \"Team\"], node.pointed", style: {
      "label": "data(label)", "text-background-color": "#ffffff",
      "text-background-opacity": 0.85, "text-background-padding": 2 } },
    { selector: "node.pointed", style: { "z-index": 10, "font-size": 14 } },
    { selector: "node[focus]", style: { "width": 34, "height": 34, "border-width": 3 } },
    { selector: "edge", style: {
      "width": 1.2, "line-color": "#9aa3b0", "target-arrow-color": "#9aa3b0",
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8 } }
  ];
  Object.keys(kinds).forEach(function (kind) {
    style.push({ selector: 'node[kind = "' + kind + '"]',
                 style: { "background-color": kinds[kind][0], "shape": kinds[kind][1] } });
  });
  var cy = cytoscape({
    container: holder,
    elements: JSON.parse(data.textContent),
    style: style,
    layout: { name: "cose", animate: false, padding: 30, nodeRepulsion: 60000,
              idealEdgeLength: 70, randomize: false }
  });
  cy.on("mouseover", "node", function (event) {
    event.target.addClass("pointed");
    if (event.target.data("href")) holder.style.cursor = "pointer";
  });
  cy.on("mouseout", "node", function (event) {
    event.target.removeClass("pointed");
    holder.style.cursor = "";
  });
  cy.on("tap", "node", function (event) {
    var target = event.target.data("href");
    if (target) window.location.assign(target);
  });
  holder.graph = cy;  // for the browser tests, which click nodes where they are drawn
  holder.dataset.ready = String(cy.nodes().length);
})();
