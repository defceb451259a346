// Decoded slice images keyed by (index, window): an LRU cache plus directional prefetch.
// With `capacity: 0` it is the baseline the slice-scroll benchmark compares against:
// every slice is fetched and decoded when it is asked for, nothing kept, nothing prefetched.

const MAX_PARALLEL = 6; // a browser's connections per host over HTTP/1.1

export class ImageCache {
  /**
   * @param {(index: number, windowKey: string) => string} urlFor  the rendered image's URL
   * @param {{capacity?: number, ahead?: number, behind?: number}} options
   */
  constructor(urlFor, { capacity = 400, maxBytes = 256 * 2 ** 20, ahead = 96, behind = 8 } = {}) {
    this.urlFor = urlFor;
    this.capacity = capacity; // images kept at most (0: keep none, prefetch none)
    this.maxBytes = maxBytes; // decoded RGBA bytes kept at most (256 MiB: 256 slices of 512²)
    this.bytes = 0;
    this.ahead = capacity ? ahead : 0;
    this.behind = capacity ? behind : 0;
    this.windowKey = "";
    this.images = new Map(); // key -> ImageBitmap, in least-recently-used order
    this.pending = new Map(); // key -> Promise<ImageBitmap>
    this.queue = []; // prefetch indices, nearest first
    this.running = 0;
    this.count = 0;
  }

  setCount(count) {
    this.count = count;
  }

  key(index) {
    return `${index}|${this.windowKey}`;
  }

  /** Change the window: images already decoded for another window are no longer served. */
  setWindow(windowKey) {
    if (windowKey === this.windowKey) return;
    this.windowKey = windowKey;
    this.queue = [];
  }

  /** The decoded image if it is ready now (marks it recently used). */
  peek(index) {
    const key = this.key(index);
    const image = this.images.get(key);
    if (image) {
      this.images.delete(key);
      this.images.set(key, image);
    }
    return image;
  }

  /** The decoded image, fetching it if needed. */
  get(index) {
    const ready = this.peek(index);
    if (ready) return Promise.resolve(ready);
    return this.load(index, this.windowKey);
  }

  load(index, windowKey) {
    const key = `${index}|${windowKey}`;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const promise = fetch(this.urlFor(index, windowKey), { credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error(`slice ${index + 1}: the node answered ${response.status}`);
        return response.blob();
      })
      .then((blob) => createImageBitmap(blob))
      .then((image) => {
        this.store(key, image);
        return image;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, promise);
    return promise;
  }

  store(key, image) {
    if (!this.capacity) return;
    this.images.set(key, image);
    this.bytes += image.width * image.height * 4;
    while (this.images.size > 1 && (this.images.size > this.capacity || this.bytes > this.maxBytes)) {
      const [oldest, bitmap] = this.images.entries().next().value;
      this.images.delete(oldest);
      // Not closed: a viewer may still be showing it; the garbage collector frees it.
      this.bytes -= bitmap.width * bitmap.height * 4;
    }
  }

  /** Queue the slices around `index`, more of them in the direction of travel. */
  prefetch(index, direction = 1) {
    if (!this.capacity || !this.count) return;
    const wanted = [];
    const forward = direction >= 0 ? 1 : -1;
    for (let step = 1; step <= Math.max(this.ahead, this.behind); step += 1) {
      if (step <= this.ahead) wanted.push(index + forward * step);
      if (step <= this.behind) wanted.push(index - forward * step);
    }
    this.queue = wanted.filter(
      (i) => i >= 0 && i < this.count && !this.images.has(this.key(i)) && !this.pending.has(this.key(i)),
    );
    this.pump();
  }

  pump() {
    while (this.running < MAX_PARALLEL && this.queue.length) {
      const index = this.queue.shift();
      if (this.images.has(this.key(index)) || this.pending.has(this.key(index))) continue;
      this.running += 1;
      this.load(index, this.windowKey)
        .catch(() => {})
        .finally(() => {
          this.running -= 1;
          this.pump();
        });
    }
  }

  clear() {
    this.images.clear();
    this.bytes = 0;
    this.queue = [];
  }
}
