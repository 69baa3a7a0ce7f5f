/** Byte-bounded caches of origin responses (the main cache and the hot cache) and the cached value. */
package io.imgcache.cache;
