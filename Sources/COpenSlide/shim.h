#include <openslide.h>
