package io.imgcache.sample;

/** An image format known by name; whether this JVM can write it is asked at run time. */
enum Format {
  PNG("png", "image/png"),
  JPEG("jpeg", "image/jpeg"),
  GIF("gif", "image/gif"),
  /** A valid {@code type}, but the JDK has no writer for it: answered in the path's format. */
  WEBP("webp", "image/webp");

  private final String imageIoName;
  private final String contentType;

  Format(String imageIoName, String contentType) {
    this.imageIoName = imageIoName;
    this.contentType = contentType;
  }

  /** The format name {@link javax.imageio.ImageIO} looks writers up by. */
  String imageIoName() {
    return imageIoName;
  }

  String contentType() {
    return contentType;
  }

  /** The format of a {@code /v2/image/{format}/...} path segment, or null if there is none. */
  static Format ofPathSegment(String segment) {
    return switch (segment) {
      case "png" -> PNG;
      case "jpg" -> JPEG;
      case "gif" -> GIF;
      default -> null;
    };
  }

  /** The format of a {@code type} query value ({@code .png}, {@code .jpg}, ...), or null. */
  static Format ofType(String type) {
    return switch (type) {
      case ".png" -> PNG;
      case ".jpg", ".jpeg" -> JPEG;
      case ".gif" -> GIF;
      case ".webp" -> WEBP;
      default -> null;
    };
  }
}
