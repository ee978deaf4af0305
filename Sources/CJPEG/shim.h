// libjpeg-turbo (Debian libjpeg62-turbo-dev: pkg-config "libjpeg", jpeglib.h in /usr/include). jpeglib.h
// uses FILE and size_t without including their headers, so stdio.h comes first. Swift code does not call
// libjpeg directly: its error handler must leave through longjmp, which only C may do (see CJPEGShim).
#include <stdio.h>
#include <jpeglib.h>
