package io.imgcache.sample;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import io.imgcache.sample.SampleRequest.Blob;
import io.imgcache.sample.SampleRequest.Image;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class RendererTest {
  @BeforeAll
  static void headless() {
    // As SampleOrigin.start does; these tests render without starting one.
    System.setProperty("java.awt.headless", "true");
  }

  @ParameterizedTest(name = "{0} {1}x{2}")
  @CsvSource({
    "PNG, 640, 480", "PNG, 1, 1", "PNG, 4000, 1", "PNG, 1, 4000", "PNG, 37, 23",
    "JPEG, 640, 480", "JPEG, 1, 1", "JPEG, 3, 2000",
    "GIF, 640, 480", "GIF, 1, 1", "GIF, 2000, 3",
  })
  void decodesToExactlyTheRequestedSize(Format format, int width, int height) throws IOException {
    Body body = Renderer.render(new Image("003", width, height, format));

    BufferedImage decoded = ImageIO.read(new ByteArrayInputStream(body.bytes()));
    assertEquals(width, decoded.getWidth());
    assertEquals(height, decoded.getHeight());
    assertEquals(format.contentType(), body.contentType());
  }

  @ParameterizedTest
  @CsvSource({"PNG", "JPEG", "GIF"})
  void sameRequestGivesSameBytes(Format format) {
    Image request = new Image("same", 321, 123, format);

    Body first = Renderer.render(request);
    Body second = Renderer.render(request);

    assertArrayEquals(first.bytes(), second.bytes());
    assertEquals(first.etag(), second.etag());
  }

  @Test
  void differentIdsGiveDifferentPictures() {
    Body a = Renderer.render(new Image("a", 64, 64, Format.PNG));
    Body b = Renderer.render(new Image("b", 64, 64, Format.PNG));

    assertFalse(Arrays.equals(a.bytes(), b.bytes()));
    assertNotEquals(a.etag(), b.etag());
  }

  @Test
  void etagIsAQuotedHashOfTheBody() {
    Body body = Body.of(new byte[] {1, 2, 3}, "application/octet-stream");

    assertEquals('"', body.etag().charAt(0));
    assertEquals('"', body.etag().charAt(body.etag().length() - 1));
    assertEquals(34, body.etag().length());
    assertEquals(body.etag(), Body.of(new byte[] {1, 2, 3}, "text/plain").etag());
    assertNotEquals(body.etag(), Body.of(new byte[] {1, 2, 4}, "text/plain").etag());
  }

  @ParameterizedTest
  @CsvSource({"0", "1", "7", "8", "9", "1000003"})
  void blobHasExactlyTheRequestedSizeAndIsDeterministic(int size) {
    Body body = Renderer.render(new Blob("b", size));

    assertEquals(size, body.bytes().length);
    assertArrayEquals(body.bytes(), Renderer.blob("b", size));
    assertEquals("application/octet-stream", body.contentType());
  }

  @Test
  void blobsDifferByIdAndSize() {
    byte[] small = Renderer.blob("b", 64);

    assertFalse(Arrays.equals(small, Renderer.blob("c", 64)));
    // Not a prefix of the larger blob: a cache serving the wrong size is caught by the bytes too.
    assertFalse(Arrays.equals(small, Arrays.copyOf(Renderer.blob("b", 128), 64)));
  }

  @Test
  void encodingWithoutAWriterFailsNamingTheFormat() {
    assumeFalse(ImageIO.getImageWritersByFormatName("webp").hasNext(), "a webp plugin is present");
    BufferedImage image = Renderer.draw(new Image("a", 2, 2, Format.WEBP));

    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Renderer.encode(image, Format.WEBP));
    assertEquals("no ImageIO writer for WEBP", e.getMessage());
  }
}
