// OpenJPEG 2.5 (Debian libopenjp2-7-dev: pkg-config "libopenjp2"), for Aperio's JPEG 2000 tiles.
#include <openjpeg.h>
