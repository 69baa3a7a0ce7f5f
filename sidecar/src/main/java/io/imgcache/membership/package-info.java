/** Who is in the cluster: a static list from the config, or registration and discovery in etcd. */
package io.imgcache.membership;
