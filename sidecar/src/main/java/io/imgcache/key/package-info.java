/** How a client's request target becomes a cache key, and which targets are refused. */
package io.imgcache.key;
