package io.imgcache.sample;

/**
 * A 3×5 bitmap font for digits, lower-case letters and {@code - _ . ?}, drawn straight into an
 * RGB pixel array. It exists so labels look the same on every machine: AWT fonts depend on what
 * the host has installed. Stateless.
 */
final class PixelFont {
  static final int GLYPH_WIDTH = 3;
  static final int GLYPH_HEIGHT = 5;
  /** One blank column after each glyph, one blank row under each line. */
  static final int ADVANCE = GLYPH_WIDTH + 1;

  static final int LINE_HEIGHT = GLYPH_HEIGHT + 1;

  private static final String CHARS = "0123456789abcdefghijklmnopqrstuvwxyz-_.?";

  // Five rows of three pixels each, top row first; '#' is ink.
  private static final String[] GLYPHS = {
    "####.##.##.####", ".#.##..#..#.###", "###..#####..###", "###..####..####",
    "#.##.####..#..#", "####..###..####", "####..####.####", "###..#..#..#..#",
    "####.#####.####", "####.####..####", ".#.#.#####.##.#", "##.#.###.#.###.",
    ".###..#..#...##", "##.#.##.##.###.", "####..##.#..###", "####..##.#..#..",
    ".###..#.##.#.##", "#.##.#####.##.#", "###.#..#..#.###", "..#..#..##.#.#.",
    "#.##.###.#.##.#", "#..#..#..#..###", "#.########.##.#", "##.#.##.##.##.#",
    ".#.#.##.##.#.#.", "##.#.###.#..#..", ".#.#.##.###..##", "##.#.###.#.##.#",
    ".###...#...###.", "###.#..#..#..#.", "#.##.##.##.####", "#.##.##.##.#.#.",
    "#.##.########.#", "#.##.#.#.#.##.#", "#.##.#.#..#..#.", "###..#.#.#..###",
    "......###......", "............###", ".............#.", "###..#.#.....#.",
  };

  private PixelFont() {}

  /** Width in pixels of {@code text} drawn at {@code scale}, trailing blank column included. */
  static int width(String text, int scale) {
    return text.length() * ADVANCE * scale;
  }

  /**
   * Draws {@code text} with its top-left corner at ({@code x}, {@code y}), each font pixel a
   * {@code scale} × {@code scale} square. Upper-case is drawn as lower-case, other characters as
   * {@code ?}. Ink outside the image is clipped.
   */
  static void draw(int[] pixels, int width, int height, String text, int x, int y, int scale,
      int rgb) {
    for (int i = 0; i < text.length(); i++) {
      int index = CHARS.indexOf(Character.toLowerCase(text.charAt(i)));
      String glyph = GLYPHS[index >= 0 ? index : CHARS.length() - 1];
      int left = x + i * ADVANCE * scale;
      for (int bit = 0; bit < glyph.length(); bit++) {
        if (glyph.charAt(bit) == '#') {
          int px = left + (bit % GLYPH_WIDTH) * scale;
          int py = y + (bit / GLYPH_WIDTH) * scale;
          fill(pixels, width, height, px, py, scale, scale, rgb);
        }
      }
    }
  }

  /** Fills a rectangle, clipped to the image. */
  static void fill(int[] pixels, int width, int height, int x, int y, int w, int h, int rgb) {
    int x0 = Math.max(0, x);
    int x1 = Math.min(width, x + w);
    int y1 = Math.min(height, y + h);
    for (int row = Math.max(0, y); row < y1; row++) {
      for (int col = x0; col < x1; col++) {
        pixels[row * width + col] = rgb;
      }
    }
  }
}
