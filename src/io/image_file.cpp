#include "flowmatch/io/image_file.h"

#include <ATen/Functions.h>
#include <png.h>
#include <turbojpeg.h>

#include <memory>

#include "flowmatch/core/error.h"
#include "flowmatch/io/atomic_file.h"

// stb_image_resize is compiled here, static to this file, so its macros reach no other file.
#define STB_IMAGE_RESIZE_STATIC
#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb/stb_image_resize.h>

namespace flowmatch {

namespace {
constexpr int64_t kMaxPixels = int64_t(1) << 25;  // 33.5 megapixels

bool starts_with(const std::string& bytes, const char* magic, size_t n) {
  return bytes.size() >= n && bytes.compare(0, n, magic, n) == 0;
}

void check_pixel_count(int64_t width, int64_t height, const std::string& name) {
  if (width * height > kMaxPixels)
    throw Error(name + ": " + std::to_string(width) + "x" + std::to_string(height) + " is over the limit of " +
                std::to_string(kMaxPixels) + " pixels");
}

// libpng's simplified API: any bit depth, palette or interlacing becomes 8-bit gray or RGB, and
// transparent pixels are composited onto white.
at::Tensor decode_png(const std::string& bytes, const std::string& name) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()))
    throw Error(name + ": cannot read the PNG header: " + image.message);
  try {
    check_pixel_count(image.width, image.height, name);
  } catch (const Error&) {
    png_image_free(&image);
    throw;
  }
  image.format = image.format & PNG_FORMAT_FLAG_COLOR ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  at::Tensor pixels = at::empty({image.height, image.width, PNG_IMAGE_PIXEL_CHANNELS(image.format)}, at::kByte);
  png_color white{255, 255, 255};
  if (!png_image_finish_read(&image, &white, pixels.data_ptr<uint8_t>(), 0, nullptr))
    throw Error(name + ": cannot decode the PNG: " + image.message);
  return pixels;
}

// libjpeg-turbo, stopping at the first warning (a truncated or damaged file) and refusing
// progressive files with unreasonably many scans.
at::Tensor decode_jpeg(const std::string& bytes, const std::string& name) {
  std::unique_ptr<void, int (*)(tjhandle)> decoder(tjInitDecompress(), tjDestroy);
  if (!decoder) throw Error(name + ": cannot start the JPEG decoder");
  auto buffer = reinterpret_cast<const unsigned char*>(bytes.data());
  int width = 0, height = 0, subsampling = 0, colourspace = 0;
  if (tjDecompressHeader3(decoder.get(), buffer, bytes.size(), &width, &height, &subsampling, &colourspace) != 0)
    throw Error(name + ": cannot read the JPEG header: " + tjGetErrorStr2(decoder.get()));
  if (width < 1 || height < 1) throw Error(name + ": cannot read the JPEG header: the file ends before the frame");
  check_pixel_count(width, height, name);
  bool gray = colourspace == TJCS_GRAY;
  at::Tensor pixels = at::empty({height, width, gray ? 1 : 3}, at::kByte);
  if (tjDecompress2(decoder.get(), buffer, bytes.size(), pixels.data_ptr<uint8_t>(), width, 0, height,
                    gray ? TJPF_GRAY : TJPF_RGB, TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS) != 0)
    throw Error(name + ": cannot decode the JPEG: " + tjGetErrorStr2(decoder.get()));
  return pixels;
}
}  // namespace

at::Tensor decode_image(const std::string& bytes, int channels, const std::string& name) {
  if (channels != 0 && channels != 1 && channels != 3)
    throw Error("images have 1 (gray) or 3 (RGB) channels, not " + std::to_string(channels));
  if (bytes.empty()) throw Error(name + ": the file is empty");
  at::Tensor pixels;
  if (starts_with(bytes, "\x89PNG\r\n\x1a\n", 8)) pixels = decode_png(bytes, name);
  else if (starts_with(bytes, "\xff\xd8\xff", 3)) pixels = decode_jpeg(bytes, name);
  else throw Error(name + ": not a PNG or JPEG file");
  if (channels == 1 && pixels.size(2) == 3) {  // luma, ITU-R BT.601, as PIL and torchvision compute it
    at::Tensor luma = at::tensordot(pixels.to(at::kFloat), at::tensor({0.299f, 0.587f, 0.114f}), {2}, {0});
    pixels = luma.round().clamp(0, 255).to(at::kByte).unsqueeze(2);
  }
  if (channels == 3 && pixels.size(2) == 1) pixels = pixels.expand({pixels.size(0), pixels.size(1), 3});
  return pixels.contiguous();
}

at::Tensor read_image(const std::string& path, int channels) { return decode_image(read_file(path), channels, path); }

at::Tensor fit_to_square(const at::Tensor& image, int size) {
  if (size < 1) throw Error("the image size must be at least 1, not " + std::to_string(size));
  at::Tensor source = image.contiguous();
  int height = static_cast<int>(source.size(0)), width = static_cast<int>(source.size(1));
  int channels = static_cast<int>(source.size(2));
  double scale = double(size) / std::min(width, height);
  int scaled_width = std::max(size, int(std::lround(width * scale)));
  int scaled_height = std::max(size, int(std::lround(height * scale)));
  at::Tensor scaled = source;
  if (scaled_width != width || scaled_height != height) {
    scaled = at::empty({scaled_height, scaled_width, channels}, at::kByte);
    if (!stbir_resize_uint8(source.data_ptr<uint8_t>(), width, height, 0, scaled.data_ptr<uint8_t>(), scaled_width,
                            scaled_height, 0, channels))
      throw Error("cannot resize a " + std::to_string(width) + "x" + std::to_string(height) + " image");
  }
  return scaled.narrow(0, (scaled_height - size) / 2, size).narrow(1, (scaled_width - size) / 2, size).contiguous();
}

}  // namespace flowmatch
