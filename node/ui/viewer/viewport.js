// One canvas showing one image with zoom and pan; overlays draw in image pixel coordinates.

const MIN_ZOOM = 0.25;
const MAX_ZOOM = 16;

export class Viewport {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {(ctx: CanvasRenderingContext2D, viewport: Viewport) => void} drawOverlay
   */
  constructor(canvas, drawOverlay = () => {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.drawOverlay = drawOverlay;
    this.image = null; // ImageBitmap | HTMLCanvasElement
    this.width = 0; // image columns
    this.height = 0; // image rows
    this.aspect = 1; // displayed height of one row / width of one column
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.frame = 0;
    this.onDraw = null;
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(canvas);
    this.resize();
  }

  destroy() {
    this.resizeObserver.disconnect();
    if (this.frame) cancelAnimationFrame(this.frame);
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { width, height } = this.canvas.getBoundingClientRect();
    const w = Math.max(1, Math.round(width * ratio));
    const h = Math.max(1, Math.round(height * ratio));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.drawNow();
    }
  }

  setImage(image, { width, height, aspect = 1 } = {}) {
    const sizeChanged = width !== this.width || height !== this.height || aspect !== this.aspect;
    this.image = image;
    this.width = width ?? image?.width ?? 0;
    this.height = height ?? image?.height ?? 0;
    this.aspect = aspect;
    if (sizeChanged) this.resetView();
    this.draw();
  }

  resetView() {
    this.zoom = 1;
    this.panX = 0;
    this.panY = 0;
    this.draw();
  }

  /** Screen (CSS) pixels per image column at the current zoom. */
  scale() {
    const { width, height } = this.canvas.getBoundingClientRect();
    if (!this.width || !this.height) return 1;
    const fit = Math.min(width / this.width, height / (this.height * this.aspect));
    return fit * this.zoom;
  }

  origin() {
    const { width, height } = this.canvas.getBoundingClientRect();
    const s = this.scale();
    return {
      x: (width - this.width * s) / 2 + this.panX,
      y: (height - this.height * s * this.aspect) / 2 + this.panY,
    };
  }

  /** Image coordinates (x = column, y = row, floats) under a mouse event. */
  toImage(event) {
    const rect = this.canvas.getBoundingClientRect();
    const s = this.scale();
    const o = this.origin();
    return {
      x: (event.clientX - rect.left - o.x) / s,
      y: (event.clientY - rect.top - o.y) / (s * this.aspect),
    };
  }

  /** Screen pixels per image pixel (for line widths and hit tolerances). */
  pixelsPerImagePixel() {
    return this.scale();
  }

  zoomBy(factor, at) {
    const before = this.zoom;
    this.zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, this.zoom * factor));
    if (at) {
      // keep the image point under the cursor still
      const rect = this.canvas.getBoundingClientRect();
      const cx = at.clientX - rect.left - rect.width / 2 - this.panX;
      const cy = at.clientY - rect.top - rect.height / 2 - this.panY;
      const k = this.zoom / before - 1;
      this.panX -= cx * k;
      this.panY -= cy * k;
    } else {
      this.panX *= this.zoom / before;
      this.panY *= this.zoom / before;
    }
    this.draw();
  }

  panBy(dx, dy) {
    this.panX += dx;
    this.panY += dy;
    this.draw();
  }

  /** Draw on the next animation frame (many calls in one frame draw once). */
  draw() {
    if (this.frame) return;
    this.frame = requestAnimationFrame((time) => {
      this.frame = 0;
      this.drawNow(time);
    });
  }

  drawNow(time = performance.now()) {
    const ctx = this.ctx;
    const ratio = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#000";
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    if (!this.image) return;
    const s = this.scale();
    const o = this.origin();
    ctx.setTransform(ratio * s, 0, 0, ratio * s * this.aspect, ratio * o.x, ratio * o.y);
    ctx.imageSmoothingEnabled = this.zoom < 3;
    ctx.drawImage(this.image, 0, 0, this.width, this.height);
    this.drawOverlay(ctx, this);
    if (this.onDraw) this.onDraw(performance.now()); // when the slice is on the canvas
  }
}
