// Injected into a report before </body> by tests/browser/run.sh, run by
// headless Chromium: measures the rendered page and writes what it found
// into <body data-check="...">, which --dump-dom prints.
(function () {
  const problems = [];
  const vw = document.documentElement.clientWidth;
  const sw = document.documentElement.scrollWidth;
  if (sw > vw + 1) {
    problems.push(`the page is ${sw} px wide in a ${vw} px window`);
    // Name the innermost elements that stick out (outside any box that scrolls).
    const clipped = (el) => {
      for (let a = el.parentElement; a; a = a.parentElement) {
        if (["auto", "scroll", "hidden"].includes(getComputedStyle(a).overflowX)) return true;
      }
      return false;
    };
    const out = [...document.body.querySelectorAll("*")].filter(
      (el) => el.getBoundingClientRect().right > vw + 1 && !clipped(el)
    );
    out
      .filter((el) => !out.some((o) => o !== el && el.contains(o)))
      .slice(0, 5)
      .forEach((el) => {
        const text = el.textContent.trim().slice(0, 60);
        problems.push(`  ${el.tagName.toLowerCase()} ends at ${el.getBoundingClientRect().right.toFixed(0)} px: "${text}"`);
      });
  }
  // Every image and outermost inline SVG has a size and ends inside the page.
  let images = 0;
  document.querySelectorAll("img, svg").forEach((el) => {
    if (el.tagName.toLowerCase() === "svg" && el.parentElement.closest("svg")) return;
    images++;
    const r = el.getBoundingClientRect();
    const name = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " " + images;
    if (!(r.width > 0 && r.height > 0)) problems.push(`${name} has no size (${r.width}x${r.height})`);
    if (el.tagName.toLowerCase() === "img" && !(el.complete && el.naturalWidth > 0)) {
      problems.push(`${name} (${el.getAttribute("src")}) did not load`);
    }
    const box = el.parentElement.closest("div");
    const scrolls = box && getComputedStyle(box).overflowX === "auto";
    if (!scrolls && r.right > vw + 1) problems.push(`${name} ends at ${r.right.toFixed(0)} px, past the page`);
  });
  // Every table cell begins on screen: a column reached only by scrolling
  // a table sideways (a scenario diff's B values) is a column nobody reads.
  document.querySelectorAll("td, th").forEach((cell) => {
    const box = cell.closest("div") || document.documentElement;
    const right = Math.min(vw, box.getBoundingClientRect().right);
    const r = cell.getBoundingClientRect();
    if (r.left >= right - 1 && problems.length < 40) {
      problems.push(`cell "${cell.textContent.trim().slice(0, 40)}" begins at ${r.left.toFixed(0)} px, off screen (box ends at ${right.toFixed(0)} px)`);
    }
  });
  // No text smaller than 10 px as rendered (an SVG's text scaled by its CTM).
  let smallest = Infinity;
  let texts = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    if (el.closest("script, style")) continue;
    texts++;
    let size = parseFloat(getComputedStyle(el).fontSize);
    if (el instanceof SVGElement && el.getScreenCTM) {
      const m = el.getScreenCTM();
      if (m) size *= Math.hypot(m.a, m.b);
    }
    smallest = Math.min(smallest, size);
    if (size < 10 && problems.length < 40) {
      problems.push(`text "${node.textContent.trim().slice(0, 40)}" renders at ${size.toFixed(1)} px`);
    }
  }
  document.body.setAttribute(
    "data-check",
    JSON.stringify({ problems, images, texts, smallest: Math.round(smallest * 10) / 10, width: sw })
  );
})();
