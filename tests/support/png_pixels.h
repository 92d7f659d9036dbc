#pragma once

// Pixels of a PNG file (RFC 2083) for tests that look at screenshots: 8-bit RGB or RGBA,
// not interlaced (what Chromium writes). zlib inflates the IDAT stream; the five scanline
// filters are undone here. Anything else is reported as an error string, not a crash.

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace lwipsim::testing {

struct PngPixels {
    std::uint32_t width = 0, height = 0;
    std::vector<std::uint32_t> rgb; // 0xRRGGBB per pixel, row by row (alpha dropped)
    std::string error;              // non-empty: the file could not be decoded
};

inline std::uint32_t png_be32(const std::string& s, std::size_t at) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

inline PngPixels decode_png(const std::string& png) {
    PngPixels out;
    if (png.size() < 33 || png.compare(0, 8, std::string("\x89PNG\r\n\x1a\n", 8)) != 0) {
        out.error = "not a PNG file";
        return out;
    }
    std::string idat;
    unsigned depth = 0, colour = 0, interlace = 0;
    for (std::size_t at = 8; at + 8 <= png.size();) {
        const std::uint32_t len = png_be32(png, at);
        const std::string type = png.substr(at + 4, 4);
        if (at + 12 + len > png.size()) {
            out.error = "truncated chunk " + type;
            return out;
        }
        if (type == "IHDR") {
            out.width = png_be32(png, at + 8);
            out.height = png_be32(png, at + 12);
            depth = static_cast<unsigned char>(png[at + 16]);
            colour = static_cast<unsigned char>(png[at + 17]);
            interlace = static_cast<unsigned char>(png[at + 20]);
        } else if (type == "IDAT") {
            idat += png.substr(at + 8, len);
        }
        at += 12 + len;
    }
    if (depth != 8 || (colour != 2 && colour != 6) || interlace != 0) {
        out.error = "unsupported PNG (depth " + std::to_string(depth) + ", colour type " +
                    std::to_string(colour) + ", interlace " + std::to_string(interlace) + ")";
        return out;
    }
    const std::size_t bpp = colour == 6 ? 4 : 3;
    const std::size_t stride = out.width * bpp;
    std::vector<unsigned char> raw((stride + 1) * out.height);
    uLongf raw_len = static_cast<uLongf>(raw.size());
    if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()),
                   static_cast<uLong>(idat.size())) != Z_OK ||
        raw_len != raw.size()) {
        out.error = "IDAT does not inflate to " + std::to_string(raw.size()) + " bytes";
        return out;
    }
    std::vector<unsigned char> prev(stride, 0), cur(stride);
    out.rgb.reserve(static_cast<std::size_t>(out.width) * out.height);
    for (std::size_t y = 0; y < out.height; ++y) {
        const unsigned char* line = raw.data() + y * (stride + 1);
        const unsigned filter = line[0];
        for (std::size_t i = 0; i < stride; ++i) {
            const int a = i >= bpp ? cur[i - bpp] : 0, b = prev[i],
                      c = i >= bpp ? prev[i - bpp] : 0;
            int pred = 0;
            switch (filter) {
            case 0:
                break;
            case 1:
                pred = a;
                break;
            case 2:
                pred = b;
                break;
            case 3:
                pred = (a + b) / 2;
                break;
            case 4: {
                const int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b),
                          pc = std::abs(p - c);
                pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
                break;
            }
            default:
                out.error =
                    "bad filter type " + std::to_string(filter) + " in row " + std::to_string(y);
                return out;
            }
            cur[i] = static_cast<unsigned char>(line[1 + i] + pred);
        }
        for (std::size_t x = 0; x < out.width; ++x) {
            const unsigned char* p = cur.data() + x * bpp;
            out.rgb.push_back((std::uint32_t{p[0]} << 16) | (std::uint32_t{p[1]} << 8) | p[2]);
        }
        prev.swap(cur);
    }
    return out;
}

} // namespace lwipsim::testing
